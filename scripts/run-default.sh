#!/usr/bin/env bash
# The main job until the server lands: the embedded demo model (models/demo,
# a small Mixtral-architecture MoE trained by tools/train_demo_model.py)
# continues a prompt, answers a chat message, and reports how it routes.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
localmoe="$root/$build/apps/localmoe"
model="$root/models/demo"
sampling=(--temperature 0.8 --top-p 0.95 --seed 1)

"$localmoe" version
echo
prompt="And it came to pass"
echo "== generate --prompt \"$prompt\""
printf '%s' "$prompt"
"$localmoe" generate --model "$model" --prompt "$prompt" -n 96 "${sampling[@]}" --log-level warn
echo
chat=$(mktemp)
trap 'rm -f "$chat"' EXIT
echo '[{"role": "user", "content": "Blessed are the meek: for they shall inherit the earth."}]' >"$chat"
echo "== generate --chat (user: $(cut -d'"' -f8 "$chat"))"
"$localmoe" generate --model "$model" --chat "$chat" -n 64 "${sampling[@]}" --log-level warn
echo
echo "== perplexity on the held-out chapters, with routing statistics"
"$localmoe" perplexity --model "$model" --file "$model/heldout.txt" --routing-stats
