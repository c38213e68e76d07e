#!/usr/bin/env bash
# Prepares the tokenizer conformance reference in the build tree:
#   setup.sh SOURCE_DIR WORK_DIR PYTHON NPM NODE
# copies package.json / package-lock.json / reference.mjs to WORK_DIR, runs
# `npm ci` there when the lock file changed, builds the corpus with
# make_corpus.py and writes WORK_DIR/reference/ with reference.mjs.
set -euo pipefail
src=$1 work=$2 python=$3 npm=$4 node=$5
for tool in "$python" "$npm" "$node"; do
  [[ -x $(command -v "$tool" || true) ]] || { echo "setup.sh: '$tool' not found (run scripts/install-deps.sh)" >&2; exit 1; }
done
mkdir -p "$work"
cp "$src/package.json" "$src/reference.mjs" "$src/bench.mjs" "$work/"
if ! cmp -s "$src/package-lock.json" "$work/package-lock.json" || [[ ! -d $work/node_modules ]]; then
  cp "$src/package-lock.json" "$work/"
  (cd "$work" && "$npm" ci --no-audit --no-fund --loglevel=error)
fi
"$python" "$src/make_corpus.py" "$work/corpus.jsonl"
"$node" "$work/reference.mjs" "$work/corpus.jsonl" "$work/reference"
