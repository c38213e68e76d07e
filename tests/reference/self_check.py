"""Checks of the oracle and of the written fixtures, run before the fixtures
are published. Each check compares two independent formulations, or shows
that a setting the C++ engine could get wrong visibly changes the logits
(so the fixtures can catch that mistake)."""

import json
import os

import numpy as np

import fixture_models
import hf_reference
import safetensors_io

# A mutation "visibly" changes logits when some logit moves by more than this
# fraction of max|logit|: far above any float32 engine's tolerance.
VISIBLE_CHANGE = 1e-2
# Two float64 computations of the same quantity agree to within this
# fraction of max|logit|.
SAME_RESULT = 1e-10


class CheckFailed(AssertionError):
    pass


def _expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def _relative_diff(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


# ---------------------------------------------------------------- storage

def check_bf16_rounding():
    """Round-to-nearest-even on hand-picked bit patterns around 1.0."""
    cases = {
        0x3F800000: 0x3F80,  # 1.0 exact
        0x3F808000: 0x3F80,  # halfway, lower neighbour even: down
        0x3F818000: 0x3F82,  # halfway, lower neighbour odd: up to even
        0x3F808001: 0x3F81,  # just above halfway: up
        0x3F807FFF: 0x3F80,  # just below halfway: down
        0xBF808001: 0xBF81,  # sign is carried through
        0x7F7FFFFF - 0x8000: 0x7F7F,  # largest finite stays finite
    }
    bits = np.array(list(cases), dtype=np.uint32).view(np.float32)
    got = safetensors_io.f32_to_bf16_bits(bits)
    want = np.array(list(cases.values()), dtype=np.uint16)
    _expect(np.array_equal(got, want), f"bf16 rounding: got {got} want {want}")


def check_safetensors_roundtrip():
    rng = np.random.default_rng(7)
    tensors = {
        "b": safetensors_io.StoredTensor("F32", rng.standard_normal((3, 5)).astype("<f4")),
        "a": safetensors_io.StoredTensor("BF16", rng.integers(0, 0x7F00, size=(7,)).astype("<u2")),
        "c": safetensors_io.StoredTensor("I32", np.arange(-3, 4, dtype="<i4")),
    }
    blob = safetensors_io.serialize(tensors, {"format": "pt"})
    header_len = int.from_bytes(blob[:8], "little")
    _expect((8 + header_len) % 8 == 0, "safetensors data section is not 8-byte aligned")
    header = json.loads(blob[8:8 + header_len])
    _expect(header["__metadata__"] == {"format": "pt"}, "safetensors metadata lost")
    offsets = [header[n]["data_offsets"] for n in ("a", "b", "c")]
    _expect(offsets == [[0, 14], [14, 74], [74, 102]], f"safetensors offsets not in name order: {offsets}")
    back = safetensors_io.parse(blob)
    for name, tensor in tensors.items():
        _expect(back[name].dtype == tensor.dtype and np.array_equal(back[name].array, tensor.array),
                f"safetensors round trip changed {name}")
    try:
        safetensors_io.parse(blob[:-1])
    except ValueError:
        pass
    else:
        raise CheckFailed("safetensors reader accepted a truncated file")


def check_layout(model_dir, spec):
    """Tensor set, dtypes, tying and the shard index match the spec."""
    want = set(fixture_models.make_weights(spec))
    index_path = os.path.join(model_dir, "model.safetensors.index.json")
    found = {}
    if spec.num_shards > 1:
        with open(index_path) as f:
            index = json.load(f)
        files = sorted(set(index["weight_map"].values()))
        _expect(len(files) == spec.num_shards, f"{spec.name}: {len(files)} shards")
        for file_name in files:
            for name, t in safetensors_io.read_file(os.path.join(model_dir, file_name)).items():
                _expect(index["weight_map"].get(name) == file_name, f"{spec.name}: {name} not mapped to {file_name}")
                found[name] = t
        _expect(set(index["weight_map"]) == set(found), f"{spec.name}: index lists tensors absent from shards")
        total = sum(t.array.nbytes for t in found.values())
        _expect(index["metadata"]["total_size"] == total, f"{spec.name}: total_size != {total}")
    else:
        _expect(not os.path.exists(index_path), f"{spec.name}: unexpected index file")
        found = safetensors_io.read_file(os.path.join(model_dir, "model.safetensors"))
    _expect(set(found) == want, f"{spec.name}: tensor names differ: {sorted(set(found) ^ want)}")
    _expect(all(t.dtype == spec.dtype for t in found.values()), f"{spec.name}: not all tensors are {spec.dtype}")
    tied = spec.config.get("tie_word_embeddings", spec.config["model_type"] == "gpt2")
    _expect(tied == ("lm_head.weight" not in found), f"{spec.name}: lm_head.weight presence contradicts tying")
    return found


def check_bf16_values(spec, found, model):
    """Stored BF16 values are the RNE rounding of the generated float32 ones,
    exactly representable, and exactly what the oracle computed with."""
    source = fixture_models.make_weights(spec)
    for name, tensor in found.items():
        widened = safetensors_io.bf16_bits_to_f32(tensor.array)
        _expect(np.array_equal(safetensors_io.f32_to_bf16_bits(widened), tensor.array),
                f"{spec.name}: {name} is not stable under bf16 rounding")
        _expect(np.array_equal(model.weights[name], widened.astype(np.float64)),
                f"{spec.name}: oracle weights for {name} differ from the stored bf16 values")
        original = source[name].astype(np.float64)
        error = np.abs(widened.astype(np.float64) - original)
        _expect(np.all(error <= np.abs(original) * 2.0 ** -8), f"{spec.name}: {name} rounded too far")


# ---------------------------------------------------------------- oracle

def check_rope():
    """rotate_half RoPE equals rotating each pair (i, i + d/2) by the angle
    position * inv_freq[i], and q.k depends on relative position only."""
    head_dim, theta, factor = 16, 10000.0, 2.0
    rng = np.random.default_rng(11)
    x = rng.standard_normal((1, 6, head_dim))
    positions = np.arange(6) + 3
    cos, sin = hf_reference.rope_cos_sin(positions, head_dim, theta, factor)
    got = hf_reference.apply_rope(x, cos, sin)[0]
    half = head_dim // 2
    angle = np.outer(positions / factor, hf_reference.rope_inv_freq(head_dim, theta))
    a, b = x[0, :, :half], x[0, :, half:]
    want = np.concatenate([a * np.cos(angle) - b * np.sin(angle), a * np.sin(angle) + b * np.cos(angle)], axis=-1)
    _expect(np.allclose(got, want, rtol=0, atol=1e-13), "RoPE differs from the pairwise rotation")

    q = rng.standard_normal((1, 1, head_dim))
    k = rng.standard_normal((1, 1, head_dim))

    def score(m, n):
        cq, sq = hf_reference.rope_cos_sin([m], head_dim, theta, 1.0)
        ck, sk = hf_reference.rope_cos_sin([n], head_dim, theta, 1.0)
        return float(np.sum(hf_reference.apply_rope(q, cq, sq) * hf_reference.apply_rope(k, ck, sk)))

    _expect(abs(score(9, 4) - score(25, 20)) < 1e-12, "RoPE score is not a function of relative position")


def check_attention_masks():
    """The masks spelled out: causal, and HF's sliding window (query i sees
    key j iff j <= i and i - j < window, i.e. the query plus window - 1 keys
    before it)."""
    causal = hf_reference.attention_allowed(4, None).astype(int).tolist()
    _expect(causal == [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], f"causal mask {causal}")
    window = hf_reference.attention_allowed(5, 2).astype(int).tolist()
    _expect(window == [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 1, 1]],
            f"sliding window mask {window}")


def check_causality(name, model, expected):
    """Logits at position t of the full prompt + continuation equal the last
    logits of the prefix of length t + 1 computed alone: no information from
    the future, and the greedy loop saw exactly what a cached decode sees."""
    sequence = expected.input_ids + expected.greedy_ids
    full = hf_reference.forward(model, sequence)
    scale = np.max(np.abs(full))
    for t in range(len(sequence)):
        prefix = hf_reference.forward(model, sequence[:t + 1])[-1]
        _expect(np.max(np.abs(prefix - full[t])) <= SAME_RESULT * scale,
                f"{name}: position {t} depends on later tokens")
    prompt_len = len(expected.input_ids)
    _expect(np.max(np.abs(full[:prompt_len] - expected.logits)) <= SAME_RESULT * scale, f"{name}: prompt logits")
    _expect(np.max(np.abs(full[prompt_len - 1:-1] - expected.greedy_logits)) <= SAME_RESULT * scale,
            f"{name}: greedy step logits differ from the full-sequence logits")


def check_sliding_window(name, model, input_ids):
    """With window W, positions < W see their whole prefix, so their logits
    equal full causal attention's; every later position changes. Window W + 1
    (the classic off-by-one) changes exactly the positions >= W as well."""
    window = model.config["sliding_window"]
    windowed = hf_reference.forward(model, input_ids)
    scale = np.max(np.abs(windowed))
    for other_window in (None, window + 1):
        other = hf_reference.forward(model.with_config(sliding_window=other_window), input_ids)
        per_position = np.max(np.abs(other - windowed), axis=-1) / scale
        _expect(np.all(per_position[:window] <= SAME_RESULT),
                f"{name}: window {other_window} changed positions before {window}")
        _expect(np.all(per_position[window:] > VISIBLE_CHANGE * 1e-2),
                f"{name}: window {other_window} left some position >= {window} unchanged: {per_position}")
        _expect(np.max(per_position) > VISIBLE_CHANGE, f"{name}: window {other_window} barely matters")


def check_routing(name, model, expected):
    """Routing weights sum to 1, the chosen experts are distinct and are the
    top-k by router probability."""
    config = model.config
    top_k = config["num_experts_per_tok"]
    trace = hf_reference.RouterTrace()
    hf_reference.forward(model, expected.input_ids + expected.greedy_ids, trace)
    _expect(len(trace.experts) == config["num_hidden_layers"], f"{name}: routers seen {len(trace.experts)}")
    used = set()
    for logits, experts, weights in zip(trace.logits, trace.experts, trace.weights):
        probs = hf_reference.softmax(logits)
        _expect(np.all(np.abs(np.sum(weights, axis=-1) - 1.0) < 1e-12), f"{name}: routing weights do not sum to 1")
        _expect(np.all(weights[:, :-1] >= weights[:, 1:]), f"{name}: routing weights not in descending order")
        for row, chosen in enumerate(experts):
            _expect(len(set(chosen.tolist())) == top_k, f"{name}: repeated expert in {chosen}")
            rest = np.delete(probs[row], chosen)
            _expect(np.min(probs[row, chosen]) > np.max(rest), f"{name}: experts {chosen} are not the top-{top_k}")
        used.update(experts.ravel().tolist())
    _expect(used == set(range(config["num_local_experts"])), f"{name}: experts never routed to: "
            f"{sorted(set(range(config['num_local_experts'])) - used)}")


def check_sensitivity(name, model, input_ids):
    """Mistakes the engine could make must move the logits visibly."""
    base = hf_reference.forward(model, input_ids)
    mutations = {}
    w = model.weights
    if model.config["model_type"] == "gpt2":
        p = "transformer.h.0."
        mutations["transposed Conv1D c_proj"] = model.with_weights(
            **{p + "attn.c_proj.weight": w[p + "attn.c_proj.weight"].T})
        mutations["ln_1 weight ignored"] = model.with_weights(
            **{p + "ln_1.weight": np.ones_like(w[p + "ln_1.weight"])})
        mutations["no position embeddings"] = model.with_weights(
            **{"transformer.wpe.weight": np.zeros_like(w["transformer.wpe.weight"])})
    else:
        p = "model.layers.0."
        mutations["input_layernorm weight ignored"] = model.with_weights(
            **{p + "input_layernorm.weight": np.ones_like(w[p + "input_layernorm.weight"])})
        mutations["final norm weight ignored"] = model.with_weights(
            **{"model.norm.weight": np.ones_like(w["model.norm.weight"])})
        # Query heads 1 and 2 swapped (q_proj rows and o_proj columns) equals
        # grouping kv heads as h % H_kv instead of HF's h // (H / H_kv).
        d = model.config["head_dim"]
        order = np.concatenate([np.arange(d), np.arange(2 * d, 3 * d), np.arange(d, 2 * d), np.arange(3 * d, 4 * d)])
        swaps = {}
        for layer in range(model.config["num_hidden_layers"]):
            lp = f"model.layers.{layer}.self_attn."
            swaps[lp + "q_proj.weight"] = w[lp + "q_proj.weight"][order]
            swaps[lp + "o_proj.weight"] = w[lp + "o_proj.weight"][:, order]
        mutations["kv heads interleaved instead of grouped"] = model.with_weights(**swaps)
        mutations["rope_theta ignored"] = model.with_config(
            rope_theta=10000.0 if model.config["rope_theta"] != 10000.0 else 500000.0)
        if model.config.get("rope_scaling"):
            mutations["linear rope scaling ignored"] = model.with_config(rope_scaling=None)
        if model.config.get("tie_word_embeddings") is False:
            mutations["lm_head tied by mistake"] = model.with_config(tie_word_embeddings=True)
    for what, mutated in mutations.items():
        change = _relative_diff(base, hf_reference.forward(mutated, input_ids))
        _expect(change > VISIBLE_CHANGE, f"{name}: '{what}' changes logits by only {change:.2e}")


def run_all(models_dir, specs, results):
    check_bf16_rounding()
    check_safetensors_roundtrip()
    check_rope()
    check_attention_masks()
    for spec in specs:
        model_dir = os.path.join(models_dir, spec.name)
        model = hf_reference.HfModel.load(model_dir)
        expected = results[spec.name]
        found = check_layout(model_dir, spec)
        if spec.dtype == "BF16":
            check_bf16_values(spec, found, model)
        check_causality(spec.name, model, expected)
        if model.config.get("sliding_window") is not None:
            check_sliding_window(spec.name, model, expected.input_ids)
        if model.config["model_type"] == "mixtral":
            check_routing(spec.name, model, expected)
        check_sensitivity(spec.name, model, expected.input_ids)
    print("self-check passed")
