#include "localmoe/tokenizer/decode.h"

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"
#include "localmoe/tokenizer/json_util.h"
#include "localmoe/tokenizer/normalize.h"
#include "localmoe/tokenizer/unicode.h"

namespace localmoe {

namespace {

void parse_step(const nlohmann::json& v, std::vector<Decoder::Step>& steps) {
  using Step = Decoder::Step;
  if (!v.is_object() || !v.contains("type") || !v["type"].is_string())
    throw make_error(ErrorKind::kInvalidArgument, "decoder: expected an object with a \"type\"");
  const std::string type = v["type"];
  if (type == "Sequence") {
    for (const auto& inner : v.at("decoders")) parse_step(inner, steps);
    return;
  }
  Step step;
  if (type == "ByteLevel") {
    step.kind = Step::Kind::kByteLevel;
  } else if (type == "Metaspace") {
    step.kind = Step::Kind::kMetaspace;
    step.text = v.value("replacement", std::string("\xE2\x96\x81"));
    if (step.text.empty())
      throw make_error(ErrorKind::kInvalidArgument, "decoder Metaspace: empty replacement");
    if (v.contains("prepend_scheme") && v["prepend_scheme"].is_string()) {
      step.prepend_scheme = parse_prepend_scheme(v["prepend_scheme"]);
    } else {
      step.prepend_scheme =
          v.value("add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
    }
  } else if (type == "ByteFallback") {
    step.kind = Step::Kind::kByteFallback;
  } else if (type == "Fuse") {
    step.kind = Step::Kind::kFuse;
  } else if (type == "Strip") {
    step.kind = Step::Kind::kStrip;
    step.text = v.at("content").get<std::string>();
    step.strip_start =
        v.contains("start")
            ? static_cast<int>(json_integer(v["start"], "decoder Strip: start", 0, 1 << 16))
            : 0;
    // Removing trailing text would rewrite what a stream already sent; no
    // supported model family uses it.
    if (v.contains("stop") && json_integer(v["stop"], "decoder Strip: stop", 0, 1 << 16) != 0)
      throw make_error(ErrorKind::kUnsupported, "decoder Strip with stop > 0 is not supported");
  } else if (type == "Replace") {
    const auto& pattern = v.at("pattern");
    if (!pattern.contains("String"))
      throw make_error(ErrorKind::kUnsupported,
                       "decoder Replace: only String patterns are supported");
    step.kind = Step::Kind::kReplace;
    step.text = pattern["String"].get<std::string>();
    step.replacement = v.at("content").get<std::string>();
    if (step.text.empty())
      throw make_error(ErrorKind::kInvalidArgument, "decoder Replace: empty pattern");
  } else {
    throw make_error(ErrorKind::kUnsupported, "decoder type '", type, "' is not supported");
  }
  steps.push_back(std::move(step));
}

// Token strings -> bytes through the byte-level alphabet; a token with a
// character outside the alphabet contributes its own UTF-8 bytes.
std::vector<std::string> decode_byte_level(const std::vector<std::string>& tokens) {
  std::string bytes;
  for (const std::string& token : tokens) {
    const std::size_t mark = bytes.size();
    std::size_t pos = 0;
    bool ok = true;
    while (pos < token.size()) {
      const int b = byte_level_byte(utf8_next(token, pos));
      if (b < 0) {
        ok = false;
        break;
      }
      bytes.push_back(static_cast<char>(b));
    }
    if (!ok) {
      bytes.resize(mark);
      bytes += token;
    }
  }
  return {utf8_sanitize(bytes)};
}

// "<0xAB>" -> 0xAB, or -1.
int byte_token_value(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(token[3]);
  const int lo = hex(token[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Runs of byte tokens become their UTF-8 text, or one U+FFFD per byte when
// the run is not valid UTF-8.
std::vector<std::string> decode_byte_fallback(const std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  std::string run;
  std::size_t run_tokens = 0;
  auto flush = [&] {
    if (run_tokens == 0) return;
    if (utf8_is_valid(run)) {
      out.push_back(run);
    } else {
      for (std::size_t i = 0; i < run_tokens; ++i) out.emplace_back("\xEF\xBF\xBD");
    }
    run.clear();
    run_tokens = 0;
  };
  for (const std::string& token : tokens) {
    const int b = byte_token_value(token);
    if (b >= 0) {
      run.push_back(static_cast<char>(b));
      ++run_tokens;
    } else {
      flush();
      out.push_back(token);
    }
  }
  flush();
  return out;
}

}  // namespace

Decoder Decoder::from_json(const nlohmann::json& value) {
  Decoder out;
  if (!value.is_null()) parse_step(value, out.steps_);
  return out;
}

Decoder Decoder::byte_level() {
  Decoder out;
  Step step;
  step.kind = Step::Kind::kByteLevel;
  out.steps_.push_back(std::move(step));
  return out;
}

std::string Decoder::decode(std::vector<std::string> tokens, bool continuation) const {
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Step::Kind::kByteLevel: tokens = decode_byte_level(tokens); break;
      case Step::Kind::kByteFallback: tokens = decode_byte_fallback(tokens); break;
      case Step::Kind::kFuse: {
        std::string all;
        for (const auto& t : tokens) all += t;
        tokens.clear();
        tokens.push_back(std::move(all));
        break;
      }
      case Step::Kind::kReplace:
        for (auto& t : tokens) t = replace_all(t, step.text, step.replacement);
        break;
      case Step::Kind::kMetaspace:
        // The first token of a text loses every replacement character (the
        // prepended one); elsewhere each becomes a space.
        for (std::size_t i = 0; i < tokens.size(); ++i) {
          const bool drop = i == 0 && !continuation && step.prepend_scheme != PrependScheme::kNever;
          tokens[i] = replace_all(tokens[i], step.text, drop ? "" : " ");
        }
        break;
      case Step::Kind::kStrip:
        for (std::size_t i = 0; i < tokens.size(); ++i) {
          std::string& t = tokens[i];
          const std::size_t unit = step.text.size();
          if (!(i == 0 && continuation)) {
            for (int k = 0; k < step.strip_start && t.compare(0, unit, step.text) == 0; ++k)
              t.erase(0, unit);
          }
        }
        break;
    }
  }
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

}  // namespace localmoe
