#!/usr/bin/env bash
# The main job until the server and the trained demo model land: generate
# from a small deterministic Llama checkpoint written by the reference
# fixture script (tests/reference), printing ids and timings as JSON.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
models="$root/$build/test_data"
if [[ ! -f "$models/models/llama_bf16/config.json" ]]; then
  /usr/bin/python3 "$root/tests/reference/make_fixtures.py" "$models" >/dev/null
fi
"$root/$build/apps/localmoe" version
"$root/$build/apps/localmoe" generate --model "$models/models/llama_bf16" \
  --prompt-ids 1,93,28,40,37,21,4,18,17,9,34,26 -n 32 --ignore-eos --json
