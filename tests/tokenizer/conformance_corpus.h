#pragma once
// Reading the tokenizer conformance corpus (corpus.jsonl: one {"b64": ...}
// object per line, base64 so that invalid UTF-8 survives JSON), shared by
// the conformance test and the tokenizer benchmark.

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "localmoe/base/error.h"

namespace localmoe::conformance {

// Non-empty lines of a text file. Throws Error(kIo) naming the path.
inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw make_error(ErrorKind::kIo, "cannot open '", path, "'");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// Standard base64 (RFC 4648 alphabet); decoding stops at the first '=' or
// any other character outside the alphabet.
inline std::string base64_decode(const std::string& in) {
  std::string out;
  int value = 0;
  int bits = -8;
  for (unsigned char c : in) {
    int d;
    if (c >= 'A' && c <= 'Z')
      d = c - 'A';
    else if (c >= 'a' && c <= 'z')
      d = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      d = c - '0' + 52;
    else if (c == '+')
      d = 62;
    else if (c == '/')
      d = 63;
    else
      break;
    value = (value << 6) | d;
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((value >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

// The corpus strings, decoded.
inline std::vector<std::string> read_corpus(const std::string& path) {
  std::vector<std::string> texts;
  for (const std::string& line : read_lines(path)) {
    texts.push_back(base64_decode(nlohmann::json::parse(line).at("b64")));
  }
  return texts;
}

}  // namespace localmoe::conformance
