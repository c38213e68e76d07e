#include "localmoe/tokenizer/normalize.h"

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe {

namespace {

void parse_step(const nlohmann::json& v, std::vector<Normalizer::Step>& steps) {
  using Step = Normalizer::Step;
  if (!v.is_object() || !v.contains("type") || !v["type"].is_string())
    throw make_error(ErrorKind::kInvalidArgument, "normalizer: expected an object with a \"type\"");
  const std::string type = v["type"];
  if (type == "Sequence") {
    for (const auto& inner : v.at("normalizers")) parse_step(inner, steps);
    return;
  }
  Step step;
  if (type == "NFC") {
    step.kind = Step::Kind::kNfc;
  } else if (type == "NFD") {
    step.kind = Step::Kind::kNfd;
  } else if (type == "Prepend") {
    step.kind = Step::Kind::kPrepend;
    step.text = v.at("prepend").get<std::string>();
  } else if (type == "Replace") {
    const auto& pattern = v.at("pattern");
    if (!pattern.contains("String"))
      throw make_error(ErrorKind::kUnsupported,
                       "normalizer Replace: only String patterns are supported");
    step.kind = Step::Kind::kReplace;
    step.text = pattern["String"].get<std::string>();
    step.replacement = v.at("content").get<std::string>();
    if (step.text.empty())
      throw make_error(ErrorKind::kInvalidArgument, "normalizer Replace: empty pattern");
  } else if (type == "Strip") {
    step.kind = Step::Kind::kStrip;
    step.strip_left = v.value("strip_left", true);
    step.strip_right = v.value("strip_right", true);
  } else {
    throw make_error(ErrorKind::kUnsupported, "normalizer type '", type, "' is not supported");
  }
  steps.push_back(std::move(step));
}

std::string strip_whitespace(std::string_view text, bool left, bool right) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  if (left) {
    while (begin < end) {
      std::size_t pos = begin;
      if (!is_whitespace(utf8_next(text, pos))) break;
      begin = pos;
    }
  }
  if (right) {
    while (end > begin) {
      std::size_t start = end - 1;
      while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
      std::size_t pos = start;
      if (!is_whitespace(utf8_next(text, pos))) break;
      end = start;
    }
  }
  return std::string(text.substr(begin, end - begin));
}

}  // namespace

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  std::size_t start = 0;
  for (std::size_t pos = text.find(from); pos != std::string_view::npos;
       pos = text.find(from, start)) {
    out.append(text.substr(start, pos - start));
    out.append(to);
    start = pos + from.size();
  }
  out.append(text.substr(start));
  return out;
}

Normalizer Normalizer::from_json(const nlohmann::json& value) {
  Normalizer out;
  if (!value.is_null()) parse_step(value, out.steps_);
  return out;
}

std::string Normalizer::normalize(std::string_view text) const {
  std::string s(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Step::Kind::kNfc: s = nfc(s); break;
      case Step::Kind::kNfd: s = nfd(s); break;
      case Step::Kind::kPrepend:
        if (!s.empty()) s.insert(0, step.text);
        break;
      case Step::Kind::kReplace: s = replace_all(s, step.text, step.replacement); break;
      case Step::Kind::kStrip: s = strip_whitespace(s, step.strip_left, step.strip_right); break;
    }
  }
  return s;
}

}  // namespace localmoe
