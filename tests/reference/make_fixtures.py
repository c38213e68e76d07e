#!/usr/bin/env python3
"""Writes the reference fixtures the C++ forward-pass tests compare against.

usage: make_fixtures.py OUT_DIR

OUT_DIR/models/<name>/ gets a tiny deterministic Hugging Face checkpoint
(config.json, generation_config.json, safetensors, sharded for llama_bf16) and
expected.safetensors with the float64 oracle's logits and greedy continuation.
Everything is built in a staging directory, re-read from disk, self-checked,
and only then moved into place, so a failed run never leaves stale fixtures
looking valid. Output is byte-identical across runs.
"""

import os
import sys

# One BLAS thread: the machine is shared, and a fixed summation order keeps
# the float64 results (hence the files) identical from run to run.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import json  # noqa: E402
import shutil  # noqa: E402

import numpy as np  # noqa: E402

import fixture_models  # noqa: E402
import hf_reference  # noqa: E402
import safetensors_io  # noqa: E402
import self_check  # noqa: E402

# A C++ engine accumulating in float32 must not be able to flip a greedy
# choice or an expert choice by rounding: the top-1/top-2 gap must exceed
# this fraction of the largest |logit|.
MIN_RELATIVE_MARGIN = 1e-3
# A continuation stuck on one or two tokens would test little of decoding.
MIN_DISTINCT_GREEDY_TOKENS = 8


def _write_json(path, value):
    with open(path, "w") as f:
        f.write(json.dumps(value, indent=2, sort_keys=True) + "\n")


def _stored_tensors(spec, weights):
    if spec.dtype == "F32":
        return {n: safetensors_io.StoredTensor("F32", w) for n, w in weights.items()}
    return {n: safetensors_io.StoredTensor("BF16", safetensors_io.f32_to_bf16_bits(w))
            for n, w in weights.items()}


def _shard_names(stored, num_shards):
    """Splits sorted tensor names into `num_shards` consecutive runs of about
    equal bytes (a layer may straddle two files, as in real checkpoints)."""
    names = sorted(stored)
    total = sum(stored[n].array.nbytes for n in names)
    shards = [[] for _ in range(num_shards)]
    running = 0
    for name in names:
        index = min(num_shards - 1, running * num_shards // total)
        shards[index].append(name)
        running += stored[name].array.nbytes
    if any(not shard for shard in shards):
        raise AssertionError("a shard came out empty")
    return shards


def write_checkpoint(spec, model_dir):
    os.makedirs(model_dir)
    _write_json(os.path.join(model_dir, "config.json"), spec.config)
    _write_json(os.path.join(model_dir, "generation_config.json"), fixture_models.generation_config())
    stored = _stored_tensors(spec, fixture_models.make_weights(spec))
    metadata = {"format": "pt"}
    if spec.num_shards == 1:
        safetensors_io.write_file(os.path.join(model_dir, "model.safetensors"), stored, metadata)
        return
    weight_map = {}
    for i, names in enumerate(_shard_names(stored, spec.num_shards)):
        file_name = f"model-{i + 1:05d}-of-{spec.num_shards:05d}.safetensors"
        safetensors_io.write_file(os.path.join(model_dir, file_name), {n: stored[n] for n in names}, metadata)
        weight_map.update({n: file_name for n in names})
    total_size = sum(t.array.nbytes for t in stored.values())
    _write_json(os.path.join(model_dir, "model.safetensors.index.json"),
                {"metadata": {"total_size": total_size}, "weight_map": weight_map})


def _top2_gap(values):
    top = np.sort(values, axis=-1)
    return top[..., -1] - top[..., -2]


def _kth_gap(values, k):
    """Gap between the k-th and (k+1)-th largest entries along the last axis."""
    top = np.sort(values, axis=-1)[..., ::-1]
    return top[..., k - 1] - top[..., k]


class Expected:
    """The oracle's outputs for one model (all float64 until written)."""

    def __init__(self, model, input_ids):
        self.input_ids = list(input_ids)
        trace = hf_reference.RouterTrace()
        self.logits = hf_reference.forward(model, self.input_ids, trace)
        self.router = trace if trace.experts else None
        self.greedy_ids = []
        self.greedy_logits = []
        router_logits = [np.concatenate(trace.logits)] if trace.logits else []
        sequence = list(input_ids)
        for _ in range(fixture_models.GREEDY_STEPS):
            step_trace = hf_reference.RouterTrace()
            row = hf_reference.forward(model, sequence, step_trace)[-1]
            router_logits.extend(step_trace.logits)
            token = int(np.argmax(row))
            self.greedy_logits.append(row)
            self.greedy_ids.append(token)
            sequence.append(token)
        self.greedy_logits = np.stack(self.greedy_logits)
        self.greedy_margin = float(np.min(_top2_gap(self.greedy_logits)))
        self.max_abs_logit = float(np.max(np.abs(self.greedy_logits)))
        self.router_margin = None
        if router_logits:
            all_router = np.concatenate(router_logits)
            self.router_margin = float(np.min(_kth_gap(all_router, model.config["num_experts_per_tok"])))
            self.max_abs_router_logit = float(np.max(np.abs(all_router)))

    def check_margins(self, name):
        if self.greedy_margin < MIN_RELATIVE_MARGIN * self.max_abs_logit:
            raise AssertionError(
                f"{name}: greedy_margin {self.greedy_margin:.3e} < {MIN_RELATIVE_MARGIN} * max|logit| "
                f"{self.max_abs_logit:.3e}; change the fixture seed")
        if self.router_margin is not None and \
                self.router_margin < MIN_RELATIVE_MARGIN * self.max_abs_router_logit:
            raise AssertionError(
                f"{name}: router top-k margin {self.router_margin:.3e} < {MIN_RELATIVE_MARGIN} * "
                f"max|router logit| {self.max_abs_router_logit:.3e}; change the fixture seed")
        if len(set(self.greedy_ids)) < MIN_DISTINCT_GREEDY_TOKENS:
            raise AssertionError(f"{name}: greedy continuation {self.greedy_ids} is degenerate; "
                                 "change the fixture seed")

    def tensors(self):
        f32 = lambda a: safetensors_io.StoredTensor("F32", np.asarray(a, dtype=np.float64).astype("<f4"))
        i32 = lambda a: safetensors_io.StoredTensor("I32", np.asarray(a, dtype=np.int64).astype("<i4"))
        out = {
            "input_ids": i32(self.input_ids),
            "logits": f32(self.logits),
            "greedy_ids": i32(self.greedy_ids),
            "greedy_logits": f32(self.greedy_logits),
            "greedy_margin": f32([self.greedy_margin]),
        }
        if self.router is not None:
            out["router_experts"] = i32(np.stack(self.router.experts))
            out["router_weights"] = f32(np.stack(self.router.weights))
            out["router_margin"] = f32([self.router_margin])
        return out


def build(out_dir):
    models_dir = os.path.join(out_dir, "models")
    staging = os.path.join(out_dir, "models.staging")
    if os.path.exists(staging):
        shutil.rmtree(staging)
    os.makedirs(staging)
    prompt = fixture_models.prompt_ids()
    results = {}
    for spec in fixture_models.SPECS:
        model_dir = os.path.join(staging, spec.name)
        write_checkpoint(spec, model_dir)
        model = hf_reference.HfModel.load(model_dir)
        expected = Expected(model, prompt)
        expected.check_margins(spec.name)
        safetensors_io.write_file(os.path.join(model_dir, "expected.safetensors"), expected.tensors(),
                                  {"format": "pt"})
        results[spec.name] = expected
        extra = ""
        if expected.router_margin is not None:
            extra = f" router_margin={expected.router_margin:.3f}"
        print(f"{spec.name}: max|logit|={expected.max_abs_logit:.2f} "
              f"greedy_margin={expected.greedy_margin:.4f}{extra} greedy={expected.greedy_ids}")
    self_check.run_all(staging, fixture_models.SPECS, results)
    if os.path.exists(models_dir):
        shutil.rmtree(models_dir)
    os.rename(staging, models_dir)
    print(f"fixtures written to {models_dir}")


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    build(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
