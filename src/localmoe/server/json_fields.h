#pragma once
// Typed reads of a request body's fields, shared by the OpenAI readers:
// each error names the field, what it must be and what it was.

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

namespace localmoe {

// "an integer", "a string", ... for an error message.
std::string_view json_type_name(const nlohmann::json& value);

// Throws Error(kInvalidArgument): "'field' must be EXPECTED, got TYPE (VALUE)".
[[noreturn]] void throw_wrong_type(std::string_view field, std::string_view expected,
                                   const nlohmann::json& value);

// The field's value, or nullptr when absent or null (null means "default").
const nlohmann::json* json_field(const nlohmann::json& body, std::string_view name);

// The value as that type, or throw_wrong_type. An integer may be written as
// a float with no fraction (2.0), as the Python servers accept; a token id
// is an integer in [0, 2^31).
int64_t json_integer(std::string_view name, const nlohmann::json& value);
float json_float(std::string_view name, const nlohmann::json& value);
bool json_bool(std::string_view name, const nlohmann::json& value);
int32_t json_token_id(std::string_view name, const nlohmann::json& value);

}  // namespace localmoe
