#include "localmoe/loader/safetensors.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"

namespace localmoe {
namespace {

using nlohmann::json;

constexpr size_t kLengthFieldBytes = 8;
constexpr std::string_view kMetadataKey = "__metadata__";

uint64_t read_le_u64(const uint8_t* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

// A JSON number that is a non-negative integer, else an Error naming `what`.
uint64_t as_unsigned(const json& value, std::string_view what) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer()) {
    throw make_error(ErrorKind::kCorrupt, "negative value ", value.get<int64_t>(), " in ", what);
  }
  // dump() recurses, so nested values are named by type: the header may nest arbitrarily deep.
  throw make_error(ErrorKind::kCorrupt, what, " holds ",
                   value.is_primitive() ? value.dump() : std::string("an ") + value.type_name(),
                   ", not a non-negative integer");
}

// Parses one dtype/shape/data_offsets entry; `data_size` bounds the offsets.
TensorInfo parse_entry(const std::string& name, const json& entry, size_t data_offset,
                       size_t data_size) {
  if (!entry.is_object()) throw make_error(ErrorKind::kCorrupt, "entry is not a JSON object");

  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end()) throw make_error(ErrorKind::kCorrupt, "missing 'dtype'");
  if (!dtype_it->is_string()) throw make_error(ErrorKind::kCorrupt, "'dtype' is not a string");
  const std::string& dtype_text = dtype_it->get_ref<const std::string&>();
  const std::optional<DType> dtype = parse_dtype_name(dtype_text);
  if (!dtype) {
    throw make_error(ErrorKind::kUnsupported, "unknown dtype '", dtype_text,
                     "' (known: F32 F16 BF16 F8_E4M3 F8_E5M2 F64 I64 I32 I16 I8 U8 BOOL)");
  }

  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end()) throw make_error(ErrorKind::kCorrupt, "missing 'shape'");
  if (!shape_it->is_array()) throw make_error(ErrorKind::kCorrupt, "'shape' is not an array");
  if (shape_it->size() > static_cast<size_t>(Shape::kMaxRank)) {
    throw make_error(ErrorKind::kUnsupported, "rank ", shape_it->size(),
                     " exceeds the supported maximum of ", Shape::kMaxRank);
  }
  Shape shape;
  uint64_t num_elements = 1;
  bool elements_overflow = false;
  for (const json& dim_json : *shape_it) {
    const uint64_t dim = as_unsigned(dim_json, "'shape'");
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw make_error(ErrorKind::kCorrupt, "dimension ", dim, " in 'shape' exceeds 2^63 - 1");
    }
    elements_overflow |= __builtin_mul_overflow(num_elements, dim, &num_elements);
    shape.push_back(static_cast<int64_t>(dim));
  }

  const auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end()) throw make_error(ErrorKind::kCorrupt, "missing 'data_offsets'");
  if (!offsets_it->is_array() || offsets_it->size() != 2) {
    throw make_error(ErrorKind::kCorrupt, "'data_offsets' is not a [begin, end] pair");
  }
  const uint64_t begin = as_unsigned((*offsets_it)[0], "'data_offsets'");
  const uint64_t end = as_unsigned((*offsets_it)[1], "'data_offsets'");
  if (begin > end) {
    throw make_error(ErrorKind::kCorrupt, "data_offsets [", begin, ", ", end, "] begin after end");
  }
  if (end > data_size) {
    throw make_error(ErrorKind::kCorrupt, "data_offsets [", begin, ", ", end,
                     "] end past the data section of ", data_size, " bytes");
  }

  uint64_t expected_bytes = 0;
  elements_overflow |=
      __builtin_mul_overflow(num_elements, uint64_t{dtype_size(*dtype)}, &expected_bytes);
  if (elements_overflow || expected_bytes != end - begin) {
    throw make_error(
        ErrorKind::kCorrupt, "data_offsets [", begin, ", ", end, "] hold ", end - begin,
        " bytes but shape ", shape.to_string(), " of ", dtype_name(*dtype), " needs ",
        elements_overflow ? std::string("more than 2^64") : std::to_string(expected_bytes));
  }

  TensorInfo info;
  info.name = name;
  info.dtype = *dtype;
  info.shape = shape;
  info.offset = data_offset + begin;  // cannot overflow: end <= data_size
  info.num_bytes = end - begin;
  return info;
}

std::map<std::string, std::string> parse_metadata(const json& value) {
  if (!value.is_object()) {
    throw make_error(ErrorKind::kCorrupt, "'", kMetadataKey, "' is not a JSON object");
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      throw make_error(ErrorKind::kCorrupt, "'", kMetadataKey, "' key '", key, "' holds ",
                       item.type_name(), ", not a string");
    }
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

// Two non-empty tensors may not share a byte; empty ones occupy nothing.
// Errors quote data_offsets as the header writes them, relative to the data
// section that starts at `data_offset`.
void check_no_overlap(const std::vector<TensorInfo>& tensors, size_t data_offset) {
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& info : tensors) {
    if (info.num_bytes > 0) by_offset.push_back(&info);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    const TensorInfo& cur = *by_offset[i];
    if (cur.offset < prev.offset + prev.num_bytes) {
      const size_t cur_begin = cur.offset - data_offset;
      const size_t prev_begin = prev.offset - data_offset;
      throw make_error(ErrorKind::kCorrupt, "data_offsets [", cur_begin, ", ",
                       cur_begin + cur.num_bytes, "] overlap tensor '", prev.name, "' at [",
                       prev_begin, ", ", prev_begin + prev.num_bytes, "]")
          .with_context("tensor '" + cur.name + "'");
    }
  }
}

SafetensorsHeader parse_header(std::span<const uint8_t> bytes) {
  if (bytes.size() < kLengthFieldBytes) {
    throw make_error(ErrorKind::kCorrupt, "file is ", bytes.size(),
                     " bytes, too short for the 8-byte header length");
  }
  const uint64_t header_length = read_le_u64(bytes.data());
  const size_t available = bytes.size() - kLengthFieldBytes;
  if (header_length > available) {
    throw make_error(ErrorKind::kCorrupt, "header length ", header_length, " exceeds the ",
                     available, " bytes that follow the length field (truncated file?)");
  }
  const auto* header_begin = reinterpret_cast<const char*>(bytes.data() + kLengthFieldBytes);
  json header;
  try {
    header = json::parse(header_begin, header_begin + header_length);
  } catch (const json::exception& e) {
    throw make_error(ErrorKind::kCorrupt, "header is not valid JSON: ", e.what());
  }
  if (!header.is_object()) {
    throw make_error(ErrorKind::kCorrupt, "header is a JSON ", header.type_name(),
                     ", not an object");
  }

  SafetensorsHeader result;
  result.data_offset = kLengthFieldBytes + static_cast<size_t>(header_length);
  const size_t data_size = bytes.size() - result.data_offset;
  // nlohmann::json objects iterate in key order, so `tensors` comes out sorted.
  for (const auto& [name, entry] : header.items()) {
    if (name == kMetadataKey) {
      result.metadata = parse_metadata(entry);
      continue;
    }
    try {
      result.tensors.push_back(parse_entry(name, entry, result.data_offset, data_size));
    } catch (Error& e) {
      e.with_context("tensor '" + name + "'");
      throw;
    }
  }
  check_no_overlap(result.tensors, result.data_offset);
  return result;
}

}  // namespace

SafetensorsHeader parse_safetensors(std::span<const uint8_t> bytes, const std::string& path) {
  try {
    SafetensorsHeader header = parse_header(bytes);
    for (TensorInfo& info : header.tensors) info.file = path;
    return header;
  } catch (Error& e) {
    e.with_context("file '" + path + "'");
    throw;
  }
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  MappedFile file = MappedFile::open(path);
  SafetensorsHeader header = parse_safetensors(file.bytes(), path);
  return std::unique_ptr<SafetensorsFile>(new SafetensorsFile(std::move(file), std::move(header)));
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  names.reserve(header_.tensors.size());
  for (const TensorInfo& info : header_.tensors) names.push_back(info.name);
  return names;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto it = std::lower_bound(
      header_.tensors.begin(), header_.tensors.end(), name,
      [](const TensorInfo& info, std::string_view key) { return info.name < key; });
  if (it == header_.tensors.end() || it->name != name) return nullptr;
  return &*it;
}

TensorView SafetensorsFile::view(std::string_view name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) {
    throw make_error(ErrorKind::kNotFound, "no tensor '", name, "' in '", file_.path(), "'");
  }
  TensorView view;
  view.data = file_.data() + info->offset;
  view.dtype = info->dtype;
  view.shape = info->shape;
  return view;
}

}  // namespace localmoe
