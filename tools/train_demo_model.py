#!/usr/bin/python3
"""Trains LocalMoE's embedded demo model: a small Mixtral-architecture
mixture-of-experts language model and its own byte-level BPE tokenizer, on the
King James Bible as Debian's bible-kjv-text package ships it (public domain),
and writes a Hugging Face model directory (config.json, BF16
model.safetensors, tokenizer.json, tokenizer_config.json with a ChatML
template, generation_config.json) plus the held-out text and the PyTorch
perplexity of the saved BF16 weights on it.

Deterministic given --seed on a given machine: data order, initialisation and
dropout-free training all come from seeded generators, PyTorch runs with
deterministic algorithms on a fixed thread count.

Needs Debian's python3-torch, python3-numpy, python3-regex and bible-kjv
(the `bible` program that reads bible-kjv-text). Run with /usr/bin/python3:

  /usr/bin/python3 tools/train_demo_model.py --out models/demo
"""

import argparse
import collections
import json
import math
import os
import subprocess
import sys
import time


def choose_openblas_kernels():
    """OpenBLAS (behind Debian's PyTorch) picks its GEMM kernels from the CPU
    model, and on virtual machines that report a generic model it falls back
    to SSE3 ("Prescott"): 55 GFLOP/s on a 2-core AVX-512 VM where the
    Cooper Lake kernels run at 256. Pick by the instruction sets instead,
    before torch loads OpenBLAS; a user's own OPENBLAS_CORETYPE wins."""
    if "OPENBLAS_CORETYPE" in os.environ:
        return
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return
    if {"avx512f", "avx512bw", "avx512vl", "avx512_bf16"} <= set(flags):
        os.environ["OPENBLAS_CORETYPE"] = "COOPERLAKE"
    elif {"avx512f", "avx512bw", "avx512vl"} <= set(flags):
        os.environ["OPENBLAS_CORETYPE"] = "SKYLAKEX"
    elif {"avx2", "fma"} <= set(flags):
        os.environ["OPENBLAS_CORETYPE"] = "HASWELL"


choose_openblas_kernels()

import numpy as np  # noqa: E402
import regex  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import safetensors_io  # noqa: E402  (the project's numpy safetensors writer and BF16 rounding)

# ---------------------------------------------------------------- corpus

# Every chapter whose index (in Bible order) is congruent to this modulo
# HELDOUT_EVERY is held out from training and becomes the perplexity text.
HELDOUT_EVERY = 40
HELDOUT_PHASE = 17

_VERSE_LINE = regex.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$")


def read_bible_chapters():
    """The whole King James text as a list of chapters, each a list of verses,
    from the `bible` program of the bible-kjv package (pretty-printing off:
    one "BookChapter:Verse text" line per verse)."""
    text = subprocess.run(["bible", "-f", "gen1:1-rev22:21"], check=True,
                          capture_output=True, text=True).stdout
    chapters = []
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        match = _VERSE_LINE.match(line)
        if match is None:
            raise ValueError(f"bible output line {number}: unexpected format: {line[:60]!r}")
        key = (match.group(1), match.group(2))
        if key != current:
            chapters.append([])
            current = key
        chapters[-1].append(match.group(4).strip())
    if len(chapters) != 1189:
        raise ValueError(f"expected the 1189 chapters of the KJV, read {len(chapters)}")
    return chapters


def chapter_text(verses):
    return "\n".join(verses) + "\n"


# ---------------------------------------------------------------- tokenizer

# GPT-2's pre-tokenization: contractions, letter runs, digit runs, other
# symbol runs (each with one optional leading space) and whitespace.
PRETOKENIZE = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable characters, which
    byte-level BPE vocabularies are written in."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, codes)}


class BytePairEncoding:
    """A byte-level BPE model: ids 0..255 are the bytes, every merge adds one
    id, and the special tokens come last."""

    def __init__(self, merges):
        self.merges = merges  # list of (left id, right id), in rank order
        self.token_bytes = [bytes([b]) for b in range(256)]
        for left, right in merges:
            self.token_bytes.append(self.token_bytes[left] + self.token_bytes[right])
        self.rank = {pair: i for i, pair in enumerate(merges)}
        self.merged_id = {pair: 256 + i for i, pair in enumerate(merges)}
        self.special_ids = {t: len(self.token_bytes) + i for i, t in enumerate(SPECIAL_TOKENS)}
        self._cache = {}

    @property
    def vocab_size(self):
        return len(self.token_bytes) + len(SPECIAL_TOKENS)

    @classmethod
    def train(cls, texts, vocab_size, progress):
        """Learns vocab_size - 256 - len(SPECIAL_TOKENS) merges from word
        counts, always merging the most frequent adjacent pair (ties to the
        smaller ids), with pair counts updated incrementally."""
        counts = collections.Counter()
        for text in texts:
            counts.update(PRETOKENIZE.findall(text))
        words = [list(word.encode("utf-8")) for word in counts]
        freq = list(counts.values())
        pair_count = collections.defaultdict(int)
        pair_words = collections.defaultdict(set)
        for w, symbols in enumerate(words):
            for pair in zip(symbols, symbols[1:]):
                pair_count[pair] += freq[w]
                pair_words[pair].add(w)

        num_merges = vocab_size - 256 - len(SPECIAL_TOKENS)
        merges = []
        for m in range(num_merges):
            best = max(pair_count.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))
            pair, count = best
            if count < 2:
                break
            new_id = 256 + m
            merges.append(pair)
            for w in sorted(pair_words.pop(pair)):
                symbols = words[w]
                for old in zip(symbols, symbols[1:]):
                    pair_count[old] -= freq[w]
                merged = []
                i = 0
                while i < len(symbols):
                    if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                        merged.append(new_id)
                        i += 2
                    else:
                        merged.append(symbols[i])
                        i += 1
                words[w] = merged
                for new in zip(merged, merged[1:]):
                    pair_count[new] += freq[w]
                    pair_words[new].add(w)
            for stale in [p for p, c in pair_count.items() if c <= 0]:
                del pair_count[stale]
                pair_words.pop(stale, None)
            if (m + 1) % 500 == 0:
                progress(f"tokenizer: {m + 1}/{num_merges} merges")
        return cls(merges)

    def _encode_word(self, word):
        ids = self._cache.get(word)
        if ids is not None:
            return ids
        ids = list(word.encode("utf-8"))
        while len(ids) > 1:
            ranked = [(self.rank.get(pair, math.inf), i) for i, pair in enumerate(zip(ids, ids[1:]))]
            rank, i = min(ranked)
            if rank == math.inf:
                break
            pair = (ids[i], ids[i + 1])
            merged = []
            j = 0
            while j < len(ids):
                if j + 1 < len(ids) and (ids[j], ids[j + 1]) == pair:
                    merged.append(self.merged_id[pair])
                    j += 2
                else:
                    merged.append(ids[j])
                    j += 1
            ids = merged
        self._cache[word] = ids
        return ids

    def encode(self, text):
        """Plain text (no special tokens inside) to ids."""
        out = []
        for word in PRETOKENIZE.findall(text):
            out.extend(self._encode_word(word))
        return out

    def decode(self, ids):
        return b"".join(self.token_bytes[i] for i in ids if i < len(self.token_bytes)).decode(
            "utf-8", errors="replace")

    def tokenizer_json(self):
        """The Hugging Face tokenizers serialization: a ByteLevel BPE as GPT-2
        writes it, plus the special tokens as added tokens."""
        to_unicode = bytes_to_unicode()

        def spell(token):
            return "".join(to_unicode[b] for b in token)

        vocab = {spell(t): i for i, t in enumerate(self.token_bytes)}
        merges = [f"{spell(self.token_bytes[a])} {spell(self.token_bytes[b])}" for a, b in self.merges]
        added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for t, i in self.special_ids.items()]
        byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                      "use_regex": True}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": byte_level,
            "post_processor": byte_level,
            "decoder": byte_level,
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": "", "end_of_word_suffix": "",
                      "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": merges},
        }


# ---------------------------------------------------------------- model

class MixtralConfig:
    def __init__(self, args, vocab_size):
        self.vocab_size = vocab_size
        self.hidden_size = args.hidden
        self.intermediate_size = args.intermediate
        self.num_hidden_layers = args.layers
        self.num_attention_heads = args.heads
        self.num_key_value_heads = args.kv_heads
        self.head_dim = args.hidden // args.heads
        self.num_local_experts = args.experts
        self.num_experts_per_tok = args.top_k
        self.max_position_embeddings = args.context
        self.rms_norm_eps = 1e-5
        self.rope_theta = 10000.0
        self.router_aux_loss_coef = args.aux_loss

    def hf_json(self, special_ids):
        return {
            "architectures": ["MixtralForCausalLM"],
            "model_type": "mixtral",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "num_local_experts": self.num_local_experts,
            "num_experts_per_tok": self.num_experts_per_tok,
            "max_position_embeddings": self.max_position_embeddings,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "sliding_window": None,
            "hidden_act": "silu",
            "tie_word_embeddings": False,
            "attention_dropout": 0.0,
            "router_aux_loss_coef": self.router_aux_loss_coef,
            "output_router_logits": False,
            "initializer_range": 0.02,
            "bos_token_id": special_ids["<|endoftext|>"],
            "eos_token_id": special_ids["<|im_end|>"],
            "torch_dtype": "bfloat16",
            "use_cache": True,
        }


class RmsNorm(torch.nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.q_proj = torch.nn.Linear(c.hidden_size, c.num_attention_heads * c.head_dim, bias=False)
        self.k_proj = torch.nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.v_proj = torch.nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.o_proj = torch.nn.Linear(c.num_attention_heads * c.head_dim, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        c = self.c
        q = self.q_proj(x).view(b, t, c.num_attention_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = c.num_attention_heads // c.num_key_value_heads
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
        # Scaling q rather than the [t, t] scores saves a pass over the largest tensor.
        scores = (q * (1.0 / math.sqrt(c.head_dim))) @ k.transpose(-1, -2) + mask
        out = torch.softmax(scores, dim=-1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(b, t, -1))


class Expert(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.w1 = torch.nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.w2 = torch.nn.Linear(c.intermediate_size, c.hidden_size, bias=False)
        self.w3 = torch.nn.Linear(c.hidden_size, c.intermediate_size, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class SparseMoe(torch.nn.Module):
    """Mixtral's block_sparse_moe: softmax over the router logits, top-k,
    renormalised weights, each expert run on the tokens routed to it."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.gate = torch.nn.Linear(c.hidden_size, c.num_local_experts, bias=False)
        self.experts = torch.nn.ModuleList(Expert(c) for _ in range(c.num_local_experts))

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        probs = torch.softmax(self.gate(x), dim=-1)
        weights, chosen = torch.topk(probs, self.c.num_experts_per_tok, dim=-1)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            token, slot = torch.where(chosen == e)
            if token.numel() == 0:
                continue
            contribution = expert(x[token]) * weights[token, slot].unsqueeze(-1)
            out.index_add_(0, token, contribution)
        return out.reshape(shape), probs, chosen


class DecoderLayer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RmsNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RmsNorm(c.hidden_size, c.rms_norm_eps)
        self.block_sparse_moe = SparseMoe(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        moe_out, probs, chosen = self.block_sparse_moe(self.post_attention_layernorm(x))
        return x + moe_out, probs, chosen


class MixtralModel(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = torch.nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = torch.nn.ModuleList(DecoderLayer(c) for _ in range(c.num_hidden_layers))
        self.norm = RmsNorm(c.hidden_size, c.rms_norm_eps)
        self.lm_head = torch.nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, c.head_dim, 2, dtype=torch.float64) / c.head_dim))
        angles = torch.outer(torch.arange(c.max_position_embeddings, dtype=torch.float64), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)
        self.register_buffer("cos", angles.cos().float(), persistent=False)
        self.register_buffer("sin", angles.sin().float(), persistent=False)

    def forward(self, ids):
        t = ids.shape[1]
        mask = torch.full((t, t), float("-inf")).triu(1)
        cos, sin = self.cos[:t], self.sin[:t]
        x = self.embed_tokens(ids)
        routing = []
        for layer in self.layers:
            x, probs, chosen = layer(x, cos, sin, mask)
            routing.append((probs, chosen))
        return self.lm_head(self.norm(x)), routing

    def hf_state(self):
        """Parameter name -> tensor, named as transformers' MixtralForCausalLM."""
        state = {}
        for name, tensor in self.state_dict().items():
            state[name if name.startswith("lm_head") else "model." + name] = tensor
        return state


def load_balancing_loss(routing, c):
    """Switch Transformer's auxiliary loss as Mixtral uses it: experts x the
    sum over experts of (fraction of routed slots) x (mean router probability)."""
    total = 0.0
    for probs, chosen in routing:
        routed = F.one_hot(chosen, c.num_local_experts).float().mean(dim=(0, 1))
        total = total + (routed * probs.mean(dim=0)).sum() * c.num_local_experts
    return total / len(routing)


def init_weights(model, seed):
    generator = torch.Generator().manual_seed(seed)
    depth_scale = 1.0 / math.sqrt(2.0 * model.c.num_hidden_layers)
    for name, p in sorted(model.named_parameters()):
        if name.endswith("norm.weight") or "layernorm" in name:
            continue
        std = 0.02 * (depth_scale if name.endswith(("o_proj.weight", "w2.weight")) else 1.0)
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=generator) * std)


# ---------------------------------------------------------------- training data

def training_stream(bpe, chapters, rng, chat_fraction):
    """Token stream of the training chapters in a shuffled order, each ended
    by <|endoftext|>, with ChatML exchanges mixed in (a verse as the user turn,
    the next verse as the assistant's) so the chat template means something."""
    eot = bpe.special_ids["<|endoftext|>"]
    start = bpe.special_ids["<|im_start|>"]
    end = bpe.special_ids["<|im_end|>"]
    newline = bpe.encode("\n")
    stream = []
    for index in rng.permutation(len(chapters)):
        verses = chapters[index]
        stream.extend(bpe.encode(chapter_text(verses)))
        stream.append(eot)
        for i in range(len(verses) - 1):
            if rng.random() < chat_fraction:
                stream += [start] + bpe.encode("user") + newline + bpe.encode(verses[i]) + [end] + newline
                stream += [start] + bpe.encode("assistant") + newline + bpe.encode(verses[i + 1])
                stream += [end] + newline + [eot]
    return np.array(stream, dtype=np.int64)


# ---------------------------------------------------------------- evaluation

def windowed_nll(model, tokens, context):
    """Summed NLL and scored-token count over consecutive non-overlapping
    windows of `context` tokens, each from an empty context (the evaluation
    `localmoe perplexity` performs)."""
    total = 0.0
    scored = 0
    with torch.no_grad():
        for begin in range(0, len(tokens), context):
            window = torch.tensor(tokens[begin:begin + context], dtype=torch.long)[None]
            if window.shape[1] < 2:
                continue
            logits, _ = model(window)
            logp = torch.log_softmax(logits[0, :-1].double(), dim=-1)
            total += -logp.gather(1, window[0, 1:, None]).sum().item()
            scored += window.shape[1] - 1
    return total, scored


def round_to_bf16_(model):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).float())


# ---------------------------------------------------------------- writing

def write_model_dir(out, model, config, bpe, heldout_text, report):
    os.makedirs(out, exist_ok=True)
    tensors = {name: safetensors_io.StoredTensor("BF16", safetensors_io.f32_to_bf16_bits(t.numpy()))
               for name, t in model.hf_state().items()}
    safetensors_io.write_file(os.path.join(out, "model.safetensors"), tensors,
                              metadata={"format": "pt"})

    def dump(name, value):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(value, f, indent=2, ensure_ascii=False)
            f.write("\n")

    ids = bpe.special_ids
    dump("config.json", config.hf_json(ids))
    dump("generation_config.json", {
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": [ids["<|im_end|>"], ids["<|endoftext|>"]],
        "do_sample": True, "temperature": 0.8, "top_p": 0.95,
    })
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(bpe.tokenizer_json(), f, ensure_ascii=False)
    dump("tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": config.max_position_embeddings,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "add_bos_token": False,
        "chat_template": CHAT_TEMPLATE,
    })
    with open(os.path.join(out, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write(heldout_text)
    dump("training_report.json", report)


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="model directory to write")
    parser.add_argument("--seed", type=int, default=1611)
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--intermediate", type=int, default=384)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--experts", type=int, default=8)
    parser.add_argument("--top-k", type=int, default=2)
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16, help="sequences per step")
    parser.add_argument("--steps", type=int, default=750)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup", type=int, default=50)
    # Transformers' Mixtral default (router_aux_loss_coef). At 0.01 routing came out
    # nearly uniform and an LRU expert cache hit no more often than chance.
    parser.add_argument("--aux-loss", type=float, default=0.001, help="load-balancing loss weight")
    parser.add_argument("--chat-fraction", type=float, default=0.03)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--time-steps", type=int, default=0,
                        help="only time this many steps and print the projected duration")
    args = parser.parse_args()

    started = time.time()

    def progress(message):
        print(f"[{time.time() - started:7.1f}s] {message}", flush=True)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)

    chapters = read_bible_chapters()
    train_chapters = [c for i, c in enumerate(chapters) if i % HELDOUT_EVERY != HELDOUT_PHASE]
    heldout_chapters = [c for i, c in enumerate(chapters) if i % HELDOUT_EVERY == HELDOUT_PHASE]
    heldout_text = "".join(chapter_text(c) for c in heldout_chapters)
    progress(f"corpus: {len(train_chapters)} training chapters, {len(heldout_chapters)} held out "
             f"({len(heldout_text)} bytes)")

    bpe = BytePairEncoding.train((chapter_text(c) for c in train_chapters), args.vocab, progress)
    stream = training_stream(bpe, train_chapters, rng, args.chat_fraction)
    heldout_ids = bpe.encode(heldout_text)
    progress(f"tokenizer: vocab {bpe.vocab_size}; training stream {len(stream)} tokens, "
             f"held-out {len(heldout_ids)} tokens")

    config = MixtralConfig(args, bpe.vocab_size)
    model = MixtralModel(config)
    init_weights(model, args.seed)
    total_params = sum(p.numel() for p in model.parameters())
    expert_params = sum(p.numel() for n, p in model.named_parameters() if ".experts." in n)
    active = total_params - expert_params * (1 - args.top_k / args.experts)
    progress(f"model: {total_params / 1e6:.2f} M parameters, {active / 1e6:.2f} M active per token")

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95),
                                  weight_decay=0.1, foreach=True)
    sequences = (len(stream) - 1) // args.context
    steps = args.time_steps or args.steps
    order = rng.permutation(sequences)
    cursor = 0
    train_started = time.time()
    for step in range(steps):
        if cursor + args.batch > len(order):
            order = rng.permutation(sequences)
            cursor = 0
        starts = order[cursor:cursor + args.batch] * args.context
        cursor += args.batch
        batch = torch.from_numpy(np.stack([stream[s:s + args.context + 1] for s in starts]))
        if step < args.warmup:
            lr = args.lr * (step + 1) / args.warmup
        else:
            progress_frac = (step - args.warmup) / max(1, args.steps - args.warmup)
            lr = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress_frac)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        logits, routing = model(batch[:, :-1])
        lm_loss = F.cross_entropy(logits.reshape(-1, config.vocab_size), batch[:, 1:].reshape(-1))
        loss = lm_loss + args.aux_loss * load_balancing_loss(routing, config)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if (step + 1) % 25 == 0 or step + 1 == steps:
            remaining = (time.time() - train_started) / (step + 1) * (steps - step - 1)
            progress(f"step {step + 1}/{steps} loss {lm_loss.item():.3f} lr {lr:.2e} "
                     f"epoch {(step + 1) * args.batch / sequences:.2f} eta {remaining / 60:.1f} min")
    if args.time_steps:
        per_step = (time.time() - started) / args.time_steps
        progress(f"about {per_step * args.steps / 60:.1f} min for {args.steps} steps")
        return

    model.eval()
    round_to_bf16_(model)
    nll, scored = windowed_nll(model, heldout_ids, config.max_position_embeddings)
    perplexity = math.exp(nll / scored)
    progress(f"held-out perplexity of the BF16 weights: {perplexity:.4f} over {scored} tokens")
    report = {
        "corpus": "King James Bible, Debian package bible-kjv-text (public domain)",
        "seed": args.seed,
        "arguments": vars(args),
        "parameters": total_params,
        "active_parameters_per_token": int(active),
        "training_tokens": int(steps * args.batch * args.context),
        "heldout_file": "heldout.txt",
        "heldout_context": config.max_position_embeddings,
        "heldout_tokens": len(heldout_ids),
        "heldout_tokens_scored": scored,
        "heldout_mean_nll": nll / scored,
        "heldout_perplexity": perplexity,
        "torch_version": torch.__version__,
        "training_seconds": round(time.time() - started, 1),
    }
    write_model_dir(args.out, model, config, bpe, heldout_text, report)
    progress(f"wrote {args.out}")


if __name__ == "__main__":
    main()
