#!/usr/bin/python3
"""Writes a benchmark model: a Hugging Face model directory with the shape of a
real checkpoint and deterministic random weights. It is for speed
measurements only (LocalMoE beside llama.cpp on the same weights); it is not a
real model and generates noise.

Shapes:
  tinyllama      TinyLlama-1.1B (LlamaForCausalLM), as bench/bench_util.cpp's
                 tinyllama_config(): 22 layers, hidden 2048, 32 heads, 4 KV
                 heads, FFN 5632, vocabulary 32000.
  mixtral-small  A Mixtral-architecture model of about the same total size
                 (1.19 B parameters, 0.36 B of them read per token): 24
                 layers, hidden 1024, 16 heads, 4 KV heads, 8 experts of FFN
                 1792, top-2 routing, vocabulary 32000.

Written: config.json, generation_config.json, model.safetensors (or shards of
at most --max-shard-gb with model.safetensors.index.json), tokenizer.json and
tokenizer_config.json. The tokenizer is Llama-style (Metaspace-like "▁"
normalizer, BPE with byte fallback): <unk> <s> </s>, the 256 byte tokens
<0x00>..<0xFF>, the printable ASCII characters and "▁", then synthetic merges
up to 32000 tokens, so llama.cpp's SentencePiece vocabulary reads it too.

Matrices are normal with std 0.02 and norm weights are 1, so activations stay
finite. Each tensor draws from its own generator seeded by (--seed, its index
in sorted-name order): the values do not depend on the sharding.

Needs numpy only. Example:
  /usr/bin/python3 tools/make_bench_model.py --shape tinyllama --dtype bf16 --out /tmp/tinyllama-bf16
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import fixture_models  # noqa: E402  (the project's HF config.json layouts)
import safetensors_io  # noqa: E402  (the project's numpy safetensors writer and BF16 rounding)

VOCAB_SIZE = 32000
WEIGHT_STD = 0.02
SPACE = "\u2581"  # SentencePiece's "▁", which stands for a space inside tokens
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>"]  # ids 0, 1, 2 as in Llama
MAX_LEFT_CHARS = 6

SHAPES = {
    "tinyllama": {
        "architecture": "llama", "hidden_size": 2048, "intermediate_size": 5632,
        "num_hidden_layers": 22, "num_attention_heads": 32, "num_key_value_heads": 4,
        "max_position_embeddings": 2048, "rope_theta": 10000.0,
    },
    "mixtral-small": {
        "architecture": "mixtral", "hidden_size": 1024, "intermediate_size": 1792,
        "num_hidden_layers": 24, "num_attention_heads": 16, "num_key_value_heads": 4,
        "max_position_embeddings": 4096, "rope_theta": 1000000.0,
        "num_local_experts": 8, "num_experts_per_tok": 2,
    },
}

# --dtype -> (config.json torch_dtype, safetensors dtype tag)
DTYPES = {"bf16": ("bfloat16", "BF16"), "f32": ("float32", "F32")}


def log(message):
    print(message, flush=True)


def write_json(path, value):
    with open(path, "w") as f:
        f.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- config

def model_config(shape, torch_dtype):
    """config.json as transformers writes it for the architecture, with the
    benchmark shape in place of the fixtures' tiny one."""
    if shape["architecture"] == "mixtral":
        config = fixture_models.mixtral_config(torch_dtype, 1e-5, shape["rope_theta"],
                                               shape["num_local_experts"], shape["num_experts_per_tok"])
    else:
        config = fixture_models.llama_config(torch_dtype, 1e-5, shape["rope_theta"], tie=False,
                                             rope_scaling=None)
    config.update({key: value for key, value in shape.items() if key != "architecture"})
    config["head_dim"] = shape["hidden_size"] // shape["num_attention_heads"]
    config["vocab_size"] = VOCAB_SIZE
    return config


# ---------------------------------------------------------------- weights

def tensor_shapes(config):
    """name -> shape of every tensor of a Llama or Mixtral checkpoint: the
    fixtures' own table (an untied lm_head, as config.json says)."""
    return fixture_models._llama_like_shapes(config)


def make_tensor(name, shape, seed, index, dtype_tag):
    if name.endswith("norm.weight"):
        values = np.ones(shape, dtype=np.float32)
    else:
        rng = np.random.default_rng([seed, index])
        values = rng.standard_normal(shape, dtype=np.float32) * np.float32(WEIGHT_STD)
    if dtype_tag == "BF16":
        return safetensors_io.StoredTensor("BF16", safetensors_io.f32_to_bf16_bits(values))
    return safetensors_io.StoredTensor("F32", values)


def shard_plan(shapes, bytes_per_element, max_shard_bytes):
    """Sorted tensor names cut into consecutive runs of at most max_shard_bytes
    (a single tensor larger than that gets a shard of its own)."""
    shards, current, current_bytes = [], [], 0
    for name in sorted(shapes):
        size = int(np.prod(shapes[name])) * bytes_per_element
        if current and current_bytes + size > max_shard_bytes:
            shards.append(current)
            current, current_bytes = [], 0
        current.append(name)
        current_bytes += size
    shards.append(current)
    return shards


def write_weights(out_dir, config, dtype_tag, seed, max_shard_bytes):
    """Generates one shard at a time, so memory holds one shard (twice, while
    it is serialized) rather than the whole model."""
    shapes = tensor_shapes(config)
    index_of = {name: i for i, name in enumerate(sorted(shapes))}
    bytes_per_element = 2 if dtype_tag == "BF16" else 4
    shards = shard_plan(shapes, bytes_per_element, max_shard_bytes)
    total_params = sum(int(np.prod(s)) for s in shapes.values())
    log(f"{len(shapes)} tensors, {total_params / 1e9:.3f} B parameters, "
        f"{total_params * bytes_per_element / 1e9:.2f} GB as {dtype_tag} in {len(shards)} file(s)")
    weight_map = {}
    for shard_index, names in enumerate(shards):
        file_name = ("model.safetensors" if len(shards) == 1
                     else f"model-{shard_index + 1:05d}-of-{len(shards):05d}.safetensors")
        started = time.monotonic()
        tensors = {}
        for name in names:
            tensors[name] = make_tensor(name, shapes[name], seed, index_of[name], dtype_tag)
            weight_map[name] = file_name
        safetensors_io.write_file(os.path.join(out_dir, file_name), tensors, {"format": "pt"})
        log(f"  {file_name}: {len(names)} tensors in {time.monotonic() - started:.1f} s")
    if len(shards) > 1:
        write_json(os.path.join(out_dir, "model.safetensors.index.json"),
                   {"metadata": {"total_size": total_params * bytes_per_element},
                    "weight_map": weight_map})


# ---------------------------------------------------------------- tokenizer

def synthetic_pieces(seed):
    """The vocabulary after the special and byte tokens, and the merges that
    build it: single characters first, then pieces made by joining a random
    short piece (up to MAX_LEFT_CHARS, "▁" may lead) with a random one- or
    two-letter one, each merge creating the next new token, so lengths spread
    over 2..8 characters as in a trained vocabulary. Merges are listed in id
    order, which is also their rank."""
    alphabet = [SPACE] + [chr(c) for c in range(33, 127)]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces = list(alphabet)
    known = set(pieces)
    lefts = [SPACE] + letters  # pieces that may stand left of a merge
    rights = list(letters)     # pieces that may stand right of one
    merges = []
    rng = np.random.default_rng([seed, 1 << 20])
    target = VOCAB_SIZE - len(SPECIAL_TOKENS) - 256
    while len(pieces) < target:
        u, v = rng.random(2)
        left, right = lefts[int(u * len(lefts))], rights[int(v * len(rights))]
        piece = left + right
        if piece in known:
            continue
        known.add(piece)
        pieces.append(piece)
        merges.append([left, right])
        if len(piece) <= MAX_LEFT_CHARS:
            lefts.append(piece)
        if len(piece) == 2 and not piece.startswith(SPACE):
            rights.append(piece)
    return pieces, merges


def tokenizer_json(seed):
    """A Llama-family tokenizer.json (the layout of Llama 2's and TinyLlama's)."""
    pieces, merges = synthetic_pieces(seed)
    tokens = SPECIAL_TOKENS + [f"<0x{b:02X}>" for b in range(256)] + pieces
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for i, t in enumerate(SPECIAL_TOKENS)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": merges},
    }


def tokenizer_config():
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": None,
        "clean_up_tokenization_spaces": False,
        "legacy": False,
        "model_max_length": 2048,
        "tokenizer_class": "LlamaTokenizerFast",
    }


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(
        description="Writes a Hugging Face model directory with deterministic random weights, for "
                    "benchmarks only (not a real model).",
        epilog="tinyllama: TinyLlama-1.1B's shape (LlamaForCausalLM). mixtral-small: a "
               "MixtralForCausalLM of about the same total size, 1.19 B parameters (0.36 B read "
               "per token): 24 layers, hidden 1024, 8 experts of FFN 1792, top-2.")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tinyllama")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16",
                        help="storage dtype of the weights (default bf16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and merges (default 0)")
    parser.add_argument("--max-shard-gb", type=float, default=4.0,
                        help="largest safetensors file; a bigger model is sharded (default 4)")
    parser.add_argument("--out", required=True, help="model directory to write (created)")
    args = parser.parse_args()
    if args.max_shard_gb <= 0:
        parser.error("--max-shard-gb must be positive")

    torch_dtype, dtype_tag = DTYPES[args.dtype]
    os.makedirs(args.out, exist_ok=True)
    config = model_config(SHAPES[args.shape], torch_dtype)
    log(f"{args.shape} ({config['architectures'][0]}), {args.dtype}, seed {args.seed} -> {args.out}")
    write_json(os.path.join(args.out, "config.json"), config)
    write_json(os.path.join(args.out, "generation_config.json"), fixture_models.generation_config())
    started = time.monotonic()
    write_json(os.path.join(args.out, "tokenizer.json"), tokenizer_json(args.seed))
    write_json(os.path.join(args.out, "tokenizer_config.json"), tokenizer_config())
    log(f"tokenizer: {VOCAB_SIZE} tokens in {time.monotonic() - started:.1f} s")
    write_weights(args.out, config, dtype_tag, args.seed, int(args.max_shard_gb * 1e9))
    log("done")


if __name__ == "__main__":
    main()
