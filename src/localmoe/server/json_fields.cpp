#include "localmoe/server/json_fields.h"

#include <cmath>
#include <limits>

#include "localmoe/base/error.h"

namespace localmoe {

using nlohmann::json;

std::string_view json_type_name(const json& value) {
  if (value.is_number_integer()) return "an integer";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_boolean()) return "a boolean";
  if (value.is_array()) return "an array";
  if (value.is_object()) return "an object";
  return "null";
}

void throw_wrong_type(std::string_view field, std::string_view expected, const json& value) {
  throw make_error(ErrorKind::kInvalidArgument, "'", field, "' must be ", expected, ", got ",
                   json_type_name(value), " (", value.dump(), ")");
}

const json* json_field(const json& body, std::string_view name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

int64_t json_integer(std::string_view name, const json& value) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw_wrong_type(name, "an integer within 64 bits", value);
    }
    return value.get<int64_t>();
  }
  // 2.0 is accepted as 2, as the Python servers do.
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return static_cast<int64_t>(d);
    }
  }
  throw_wrong_type(name, "an integer", value);
}

float json_float(std::string_view name, const json& value) {
  if (!value.is_number()) throw_wrong_type(name, "a number", value);
  return value.get<float>();
}

bool json_bool(std::string_view name, const json& value) {
  if (!value.is_boolean()) throw_wrong_type(name, "a boolean", value);
  return value.get<bool>();
}

int32_t json_token_id(std::string_view name, const json& value) {
  const int64_t id = json_integer(name, value);
  if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
    throw make_error(ErrorKind::kInvalidArgument, "'", name, "' holds ", id,
                     ", which is not a token id");
  }
  return static_cast<int32_t>(id);
}

}  // namespace localmoe
