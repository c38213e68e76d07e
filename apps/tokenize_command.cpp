// `localmoe tokenize`: the model's tokenizer on a text or a chat, for
// debugging prompts and for scripts.

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "localmoe/base/error.h"
#include "localmoe/tokenizer/chat_template.h"
#include "localmoe/tokenizer/tokenizer.h"

namespace localmoe::apps {

namespace {

struct TokenizeOptions {
  std::string model_dir;
  std::string text;
  std::string chat_file;
  bool json = false;
  bool no_special = false;
};

// A chat file is either a list of messages or an object with "messages"
// and optional "add_generation_prompt" (default true) and template
// variables such as "tools".
std::string render_chat(const Tokenizer& tokenizer, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw make_error(ErrorKind::kIo, "cannot open chat file '", path, "'");
  nlohmann::ordered_json chat;
  try {
    chat = nlohmann::ordered_json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw make_error(ErrorKind::kInvalidArgument, "chat file '", path,
                     "': invalid JSON: ", e.what());
  }
  nlohmann::ordered_json messages = chat;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  bool add_generation_prompt = true;
  if (chat.is_object()) {
    if (!chat.contains("messages"))
      throw make_error(ErrorKind::kInvalidArgument, "chat file '", path, "': no \"messages\"");
    messages = chat["messages"];
    for (auto it = chat.begin(); it != chat.end(); ++it) {
      if (it.key() == "add_generation_prompt") {
        add_generation_prompt = it.value().get<bool>();
      } else if (it.key() != "messages") {
        extra[it.key()] = it.value();
      }
    }
  }
  return ChatTemplate::for_tokenizer(tokenizer).render(messages, add_generation_prompt, extra);
}

void run(const TokenizeOptions& o) {
  const auto tokenizer = load_tokenizer(o.model_dir);
  std::string text = o.text;
  bool add_special = !o.no_special;
  if (!o.chat_file.empty()) {
    text = render_chat(*tokenizer, o.chat_file);
    add_special = false;  // the template already wrote BOS where the model wants it
  }
  const std::vector<int32_t> ids = tokenizer->encode(text, add_special);
  if (!o.json) {
    std::string line;
    for (std::size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
    std::printf("%s\n", line.c_str());
    return;
  }
  nlohmann::ordered_json out;
  if (!o.chat_file.empty()) out["prompt"] = text;
  out["token_ids"] = ids;
  nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
  nlohmann::ordered_json pieces = nlohmann::ordered_json::array();
  for (int32_t id : ids) {
    tokens.push_back(tokenizer->id_to_token(id).value_or(""));
    DecodeOptions piece_options;
    piece_options.clean_up_tokenization_spaces = false;
    piece_options.continuation = true;  // each piece as it appears inside the text
    pieces.push_back(tokenizer->decode(std::span(&id, 1), piece_options));
  }
  out["tokens"] = tokens;
  out["pieces"] = pieces;
  out["text"] = tokenizer->decode(ids);
  std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto options = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize", "Print the token ids of a text (or of a chat, through the chat template)");
  cmd->add_option("--model", options->model_dir,
                  "Model directory (tokenizer.json, vocab.json + merges.txt or tokenizer.model)")
      ->required();
  cmd->add_option("text", options->text, "Text to tokenize");
  cmd->add_option("--chat", options->chat_file,
                  "JSON file of chat messages, rendered with the model's chat template");
  cmd->add_flag("--json", options->json,
                "Print a JSON object with token_ids, tokens, pieces and the decoded text");
  cmd->add_flag("--no-special", options->no_special, "Do not add BOS / EOS around the text");
  cmd->callback([options] {
    if (options->text.empty() == options->chat_file.empty())
      throw make_error(ErrorKind::kInvalidArgument, "give either TEXT or --chat FILE");
    run(*options);
  });
}

}  // namespace localmoe::apps
