"""`localmoe generate --input/--output` end to end on a fixture model.

check_generate_batch.py LOCALMOE MODEL_DIR WORK_DIR

Writes a JSONL file of good and bad lines, runs it through one engine, and
checks the result lines: one per input line in input order, the oracle's
greedy tokens for the good lines, every bad line's error naming what is wrong
(and, on stderr, its line number), n > 1 with its choices, logprobs and
prompt logprobs where asked for.
"""

import json
import os
import subprocess
import sys

PROMPT = [1, 93, 28, 40, 37, 21, 4, 18, 17, 9, 34, 26]
GREEDY = [93, 11, 67, 73]  # the float64 oracle's greedy continuation (llama_bf16)


def main():
    localmoe, model, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    lines = [
        {"prompt_ids": PROMPT, "max_tokens": 4, "ignore_eos": True},
        {"prompt_ids": PROMPT, "temperature": "hot"},
        None,  # a blank line: skipped
        "not json",
        {"prompt_ids": [1, 2, 3], "max_tokens": 3, "n": 2, "temperature": 1.0, "seed": 3,
         "logprobs": 2, "prompt_logprobs": 1, "ignore_eos": True},
        {"prompt_ids": PROMPT, "max_tokens": 4, "ignore_eos": True, "top_p": 0.5,
         "temperature": 0},
        {"prompt_ids": [1, 500]},
    ]
    source = os.path.join(work, "prompts.jsonl")
    with open(source, "w") as f:
        for line in lines:
            f.write("" if line is None else line if isinstance(line, str) else json.dumps(line))
            f.write("\n")
    target = os.path.join(work, "results.jsonl")
    run = subprocess.run([localmoe, "generate", "--model", model, "--input", source,
                          "--output", target], capture_output=True, text=True, timeout=300)
    print(run.stderr)
    assert run.returncode == 0, run.returncode
    with open(target) as f:
        results = [json.loads(line) for line in f]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4, 5], results

    assert results[0]["token_ids"] == GREEDY, results[0]
    assert results[0]["finish_reason"] == "length"
    assert results[0]["usage"] == {"prompt_tokens": 12, "completion_tokens": 4,
                                   "cached_prompt_tokens": 0}, results[0]["usage"]
    timings = results[0]["timings"]
    assert 0 <= timings["queued_s"] <= timings["first_token_s"] <= timings["total_s"], timings

    assert results[1] == {"index": 1, "line": 2,
                          "error": "'temperature' must be a number, got a string (\"hot\")"}
    assert results[2]["line"] == 4 and results[2]["error"].startswith("not JSON"), results[2]
    assert f"{source}:2: error: 'temperature' must be a number" in run.stderr
    assert f"{source}:4: error: not JSON" in run.stderr

    several = results[3]
    assert len(several["choices"]) == 2, several
    assert all(len(c["token_ids"]) == 3 for c in several["choices"])
    assert several["choices"][0]["token_ids"] != several["choices"][1]["token_ids"]
    assert several["usage"]["completion_tokens"] == 6
    assert all(len(c["logprobs"]) == 3 for c in several["choices"])
    assert all(len(l["top_logprobs"]) == 2 for l in several["logprobs"])
    assert len(several["prompt_logprobs"]) == 2, several["prompt_logprobs"]
    assert [l["token_id"] for l in several["prompt_logprobs"]] == [2, 3]

    # The first line's request again (top_p is inert when greedy), in the same steps.
    assert results[4]["token_ids"] == GREEDY, results[4]

    assert results[5]["line"] == 7 and "500" in results[5]["error"], results[5]
    assert "generate: 3 requests (3 rejected)," in run.stderr, run.stderr
    print("generate --input: 6 result lines as expected")


if __name__ == "__main__":
    main()
