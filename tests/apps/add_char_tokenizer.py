"""Copies a reference fixture model and gives it a character-level
SentencePiece-style BPE tokenizer (Metaspace, no merges) that fits its
96-token vocabulary, so text prompts can be tested end to end.

usage: add_char_tokenizer.py SOURCE_MODEL_DIR OUT_DIR
"""
import json
import shutil
import sys

source, out = sys.argv[1], sys.argv[2]
shutil.rmtree(out, ignore_errors=True)
shutil.copytree(source, out)

specials = ["<unk>", "<s>", "</s>"]
# Exactly the model's 96 ids, so every id a model samples decodes.
alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-:;()\"#$%&*+/<=>@[]^_`{|}~"
chars = ["\u2581"] + list(alphabet[: 96 - len(specials) - 1])
vocab = {token: i for i, token in enumerate(specials + chars)}
assert len(vocab) == 96, len(vocab)

tokenizer = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": [
        {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, t in enumerate(specials)
    ],
    "normalizer": None,
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first",
                      "split": False},
    "post_processor": {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
    },
    "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False},
    "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": False,
              "ignore_merges": False, "vocab": vocab, "merges": []},
}
with open(f"{out}/tokenizer.json", "w", encoding="utf-8") as f:
    json.dump(tokenizer, f, ensure_ascii=False, indent=1)

config = {
    "add_bos_token": True,
    "add_eos_token": False,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "clean_up_tokenization_spaces": False,
    "chat_template": "{% for m in messages %}{{ bos_token + '[' + m['role'] + '] ' + m['content'] }}{% endfor %}"
                     "{% if add_generation_prompt %}{{ ' [assistant]' }}{% endif %}",
}
with open(f"{out}/tokenizer_config.json", "w", encoding="utf-8") as f:
    json.dump(config, f, indent=1)
