"""Checks the committed demo model (models/demo) through the localmoe binary:
our tokenizer reproduces the training script's token count on the held-out
text, our perplexity equals the PyTorch figure the training script recorded
(within the 0.5% the model's contract promises), and routing is not uniform:
expert-usage entropy below the maximum in every layer, and an LRU expert
cache at the default budgets (50% and 25% of the experts) hits well above
chance.

usage: check_demo_model.py LOCALMOE MODEL_DIR
"""

import json
import os
import subprocess
import sys

PERPLEXITY_TOLERANCE = 0.005
LRU_MARGIN_OVER_CHANCE = 0.1


def main():
    localmoe, model_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(model_dir, "training_report.json")) as f:
        report = json.load(f)
    heldout = os.path.join(model_dir, report["heldout_file"])
    out = subprocess.run([localmoe, "perplexity", "--model", model_dir, "--file", heldout,
                          "--context", str(report["heldout_context"]), "--routing-stats", "--json"],
                         check=True, capture_output=True, text=True).stdout
    ours = json.loads(out)
    failures = []

    def check(ok, message):
        print(("ok   " if ok else "FAIL ") + message)
        if not ok:
            failures.append(message)

    check(ours["tokens"] == report["heldout_tokens"],
          f"held-out tokens: ours {ours['tokens']}, training script {report['heldout_tokens']}")
    check(ours["tokens_scored"] == report["heldout_tokens_scored"],
          f"tokens scored: ours {ours['tokens_scored']}, training script {report['heldout_tokens_scored']}")
    relative = abs(ours["perplexity"] / report["heldout_perplexity"] - 1)
    check(relative <= PERPLEXITY_TOLERANCE,
          f"perplexity: ours {ours['perplexity']:.5f}, PyTorch {report['heldout_perplexity']:.5f}, "
          f"relative difference {relative:.2e} (bound {PERPLEXITY_TOLERANCE})")

    layers = ours["routing"]["layers"]
    for layer in layers:
        check(layer["normalized_entropy"] < 0.999,
              f"layer {layer['layer']}: expert-usage entropy {layer['normalized_entropy']:.3f} "
              "of the maximum")
    # With independent uniform routing an LRU cache holding a share b of the
    # experts hits about b of the time; the demo model is the expert-cache
    # workload, so it must leave a cache clearly more than chance.
    for lru in ours["routing"]["lru"]:
        check(lru["hit_rate"] >= lru["budget"] + LRU_MARGIN_OVER_CHANCE,
              f"LRU at {lru['budget']:.0%} of experts: hit rate {lru['hit_rate']:.3f} "
              f"(chance {lru['budget']:.2f}, required margin {LRU_MARGIN_OVER_CHANCE})")
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
