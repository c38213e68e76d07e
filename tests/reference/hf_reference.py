"""Float64 numpy forward passes of the Hugging Face causal LMs LocalMoE serves,
following the transformers modeling code (modeling_llama.py,
modeling_mistral.py, modeling_mixtral.py, modeling_gpt2.py) operation by
operation, but in float64 so the result is a reference, not one more
approximation. A model is read back from its HF directory (config.json plus
safetensors, single or sharded), so what is checked is what is on disk.
"""

import json
import os

import numpy as np

import safetensors_io


class HfModel:
    """An HF checkpoint directory loaded for the oracle: its config dict and
    every tensor widened to float64 (BF16 exactly, via its bit pattern)."""

    def __init__(self, config, weights):
        self.config = config
        self.weights = weights

    @classmethod
    def load(cls, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            config = json.load(f)
        index_path = os.path.join(model_dir, "model.safetensors.index.json")
        if os.path.exists(index_path):
            with open(index_path) as f:
                files = sorted(set(json.load(f)["weight_map"].values()))
        else:
            files = ["model.safetensors"]
        weights = {}
        for name in files:
            for tensor_name, tensor in safetensors_io.read_file(os.path.join(model_dir, name)).items():
                if tensor_name in weights:
                    raise ValueError(f"{model_dir}: tensor {tensor_name} appears in two shards")
                weights[tensor_name] = tensor.to_float64()
        return cls(config, weights)

    def with_config(self, **changes):
        """A copy with some config keys replaced (weights shared): used by the
        self-checks to show which settings the logits depend on."""
        config = dict(self.config)
        config.update(changes)
        return HfModel(config, self.weights)

    def with_weights(self, **changes):
        weights = dict(self.weights)
        weights.update(changes)
        return HfModel(self.config, weights)


class RouterTrace:
    """What the MoE routers chose for every token of one forward pass."""

    def __init__(self):
        self.logits = []   # per layer: [T, num_experts] router logits
        self.experts = []  # per layer: [T, top_k] expert ids, highest weight first
        self.weights = []  # per layer: [T, top_k] renormalized routing weights


# ---------------------------------------------------------------- shared ops

def softmax(x, axis=-1):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def silu(x):
    return x / (1.0 + np.exp(-x))


def gelu_new(x):
    """GPT-2's tanh approximation (transformers NewGELUActivation)."""
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * np.power(x, 3.0))))


def rms_norm(x, weight, eps):
    """LlamaRMSNorm: weight * (x / sqrt(mean(x^2) + eps))."""
    variance = np.mean(x * x, axis=-1, keepdims=True)
    return weight * (x / np.sqrt(variance + eps))


def layer_norm(x, weight, bias, eps):
    """torch.nn.LayerNorm: biased variance over the last axis."""
    mean = np.mean(x, axis=-1, keepdims=True)
    centered = x - mean
    variance = np.mean(centered * centered, axis=-1, keepdims=True)
    return centered / np.sqrt(variance + eps) * weight + bias


def linear(x, weight):
    """nn.Linear without bias: weight is [out, in]."""
    return x @ weight.T


def attention_allowed(num_tokens, sliding_window):
    """[T, T] boolean: may query i attend key j. Causal (j <= i) and, with a
    window, i - j < sliding_window (transformers masking_utils:
    sliding_window_overlay keeps kv_idx > q_idx - sliding_window)."""
    i = np.arange(num_tokens)[:, None]
    j = np.arange(num_tokens)[None, :]
    allowed = j <= i
    if sliding_window is not None:
        allowed &= (i - j) < sliding_window
    return allowed


def attend(q, k, v, allowed, scale):
    """Softmax attention. q: [H, T, d]; k, v: [H_kv, T, d] shared by groups of
    H / H_kv consecutive query heads (repeat_kv: query head h reads kv head
    h // (H / H_kv)). Returns [T, H * d] with heads concatenated in order."""
    num_heads, num_tokens, head_dim = q.shape
    groups = num_heads // k.shape[0]
    k = np.repeat(k, groups, axis=0)
    v = np.repeat(v, groups, axis=0)
    scores = (q @ k.transpose(0, 2, 1)) * scale
    scores = np.where(allowed[None], scores, -np.inf)
    probs = softmax(scores, axis=-1)
    out = probs @ v
    return out.transpose(1, 0, 2).reshape(num_tokens, num_heads * head_dim)


# ---------------------------------------------------------------- RoPE

def rope_inv_freq(head_dim, theta):
    return 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))


def rope_cos_sin(positions, head_dim, theta, linear_factor):
    """cos, sin: [T, head_dim], the half-dim frequencies duplicated
    (LlamaRotaryEmbedding). Linear scaling divides positions by the factor
    (equivalently inv_freq / factor, as transformers computes it)."""
    scaled = np.asarray(positions, dtype=np.float64) / linear_factor
    freqs = np.outer(scaled, rope_inv_freq(head_dim, theta))
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb), np.sin(emb)


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def apply_rope(x, cos, sin):
    """x: [H, T, d]; q * cos + rotate_half(q) * sin."""
    return x * cos[None] + rotate_half(x) * sin[None]


def rope_linear_factor(config):
    scaling = config.get("rope_scaling")
    if scaling is None:
        return 1.0
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "default":
        return 1.0
    if kind != "linear":
        raise ValueError(f"rope_scaling type {kind!r} is not implemented by the reference")
    return float(scaling["factor"])


# ---------------------------------------------------------------- Llama family

def _llama_attention(model, prefix, x, cos, sin, allowed):
    cfg = model.config
    w = model.weights
    num_heads = cfg["num_attention_heads"]
    num_kv_heads = cfg.get("num_key_value_heads", num_heads)
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // num_heads
    num_tokens = x.shape[0]

    def heads(t, n):
        return t.reshape(num_tokens, n, head_dim).transpose(1, 0, 2)

    q = heads(linear(x, w[prefix + "q_proj.weight"]), num_heads)
    k = heads(linear(x, w[prefix + "k_proj.weight"]), num_kv_heads)
    v = heads(linear(x, w[prefix + "v_proj.weight"]), num_kv_heads)
    q = apply_rope(q, cos, sin)
    k = apply_rope(k, cos, sin)
    out = attend(q, k, v, allowed, head_dim ** -0.5)
    return linear(out, w[prefix + "o_proj.weight"])


def _swiglu(w, x, gate_name, up_name, down_name):
    return linear(silu(linear(x, w[gate_name])) * linear(x, w[up_name]), w[down_name])


def _sparse_moe(model, prefix, x, trace):
    """MixtralSparseMoeBlock: softmax over all experts, top-k, renormalize the
    k weights to sum to 1, weighted sum of the chosen experts' SwiGLU."""
    cfg = model.config
    w = model.weights
    num_experts = cfg["num_local_experts"]
    top_k = cfg["num_experts_per_tok"]
    router_logits = linear(x, w[prefix + "gate.weight"])
    probs = softmax(router_logits, axis=-1)
    experts = np.argsort(-probs, axis=-1, kind="stable")[:, :top_k]
    weights = np.take_along_axis(probs, experts, axis=-1)
    weights = weights / np.sum(weights, axis=-1, keepdims=True)
    out = np.zeros_like(x)
    for e in range(num_experts):
        rows, slot = np.nonzero(experts == e)
        if rows.size == 0:
            continue
        ep = f"{prefix}experts.{e}."
        y = _swiglu(w, x[rows], ep + "w1.weight", ep + "w3.weight", ep + "w2.weight")
        out[rows] += y * weights[rows, slot][:, None]
    if trace is not None:
        trace.logits.append(router_logits)
        trace.experts.append(experts)
        trace.weights.append(weights)
    return out


def _llama_family_forward(model, input_ids, trace):
    cfg = model.config
    w = model.weights
    if cfg.get("hidden_act", "silu") != "silu":
        raise ValueError(f"hidden_act {cfg['hidden_act']!r} is not implemented by the reference")
    if cfg.get("attention_bias") or cfg.get("mlp_bias"):
        raise ValueError("biased Llama projections are not implemented by the reference")
    eps = cfg["rms_norm_eps"]
    num_heads = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // num_heads
    num_tokens = len(input_ids)
    # LlamaForCausalLM ignores any sliding_window key; Mistral and Mixtral use it.
    window = cfg.get("sliding_window") if cfg["model_type"] in ("mistral", "mixtral") else None
    allowed = attention_allowed(num_tokens, window)
    cos, sin = rope_cos_sin(np.arange(num_tokens), head_dim, float(cfg.get("rope_theta", 10000.0)),
                            rope_linear_factor(cfg))
    moe = cfg["model_type"] == "mixtral"

    x = w["model.embed_tokens.weight"][np.asarray(input_ids)]
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        x = x + _llama_attention(model, p + "self_attn.", h, cos, sin, allowed)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        if moe:
            x = x + _sparse_moe(model, p + "block_sparse_moe.", h, trace)
        else:
            x = x + _swiglu(w, h, p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight", p + "mlp.down_proj.weight")
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return linear(x, head)


# ---------------------------------------------------------------- GPT-2

def _gpt2_forward(model, input_ids):
    cfg = model.config
    w = model.weights
    if cfg.get("activation_function") != "gelu_new":
        raise ValueError(f"activation_function {cfg.get('activation_function')!r} is not implemented by the reference")
    if cfg.get("scale_attn_by_inverse_layer_idx") or cfg.get("reorder_and_upcast_attn"):
        raise ValueError("GPT-2 attention variants are not implemented by the reference")
    if not cfg.get("scale_attn_weights", True):
        raise ValueError("unscaled GPT-2 attention is not implemented by the reference")
    hidden = cfg["n_embd"]
    num_heads = cfg["n_head"]
    head_dim = hidden // num_heads
    eps = cfg["layer_norm_epsilon"]
    num_tokens = len(input_ids)
    allowed = attention_allowed(num_tokens, None)

    def heads(t):
        return t.reshape(num_tokens, num_heads, head_dim).transpose(1, 0, 2)

    def conv1d(t, name):
        # transformers Conv1D: weight [in, out], y = x @ W + b.
        return t @ w[name + ".weight"] + w[name + ".bias"]

    def ln(t, name):
        return layer_norm(t, w[name + ".weight"], w[name + ".bias"], eps)

    x = w["transformer.wte.weight"][np.asarray(input_ids)] + w["transformer.wpe.weight"][np.arange(num_tokens)]
    for layer in range(cfg["n_layer"]):
        p = f"transformer.h.{layer}."
        qkv = conv1d(ln(x, p + "ln_1"), p + "attn.c_attn")
        q, k, v = (heads(part) for part in np.split(qkv, 3, axis=-1))
        x = x + conv1d(attend(q, k, v, allowed, 1.0 / np.sqrt(head_dim)), p + "attn.c_proj")
        m = gelu_new(conv1d(ln(x, p + "ln_2"), p + "mlp.c_fc"))
        x = x + conv1d(m, p + "mlp.c_proj")
    x = ln(x, "transformer.ln_f")
    return linear(x, w["transformer.wte.weight"])


# ---------------------------------------------------------------- entry

def forward(model, input_ids, trace=None):
    """Logits [T, vocab] (float64) for every position of `input_ids`, the full
    sequence recomputed without any cache. `trace` (RouterTrace) collects the
    routing decisions of MoE layers."""
    model_type = model.config["model_type"]
    if model_type in ("llama", "mistral", "mixtral"):
        return _llama_family_forward(model, input_ids, trace)
    if model_type == "gpt2":
        return _gpt2_forward(model, input_ids)
    raise ValueError(f"model_type {model_type!r} is not implemented by the reference")
