#!/usr/bin/env bash
# Runs clang-tidy with the repository's .clang-tidy over the production code
# (every tracked .cpp / .cc under src/, apps/ and bench/) and fails on any
# finding, listing each with its check name.
#   scripts/check-tidy.sh [BUILD_DIR]    (default: build; JOBS=N sets the parallelism)
# It needs only a configured build (BUILD_DIR/compile_commands.json), not a
# built one, so `make test` runs it before compiling anything.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
jobs=${JOBS:-$(nproc)}
db="$build/compile_commands.json"
if [[ ! -f $db ]]; then
  echo "check-tidy: $db is missing; configure first (make configure)" >&2
  exit 1
fi

# Tracked sources the build compiles (a source outside the build, such as a
# fuzz target of another configuration, has no flags to be checked with).
mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.cc' 'apps/*.cpp' 'bench/*.cpp' |
  /usr/bin/python3 -c '
import json, os, sys
compiled = {os.path.realpath(e["file"]) for e in json.load(open(sys.argv[1]))}
for line in sys.stdin:
    if os.path.realpath(line.strip()) in compiled:
        print(line.strip())
' "$db")

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
start=$SECONDS
printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -I{} sh -c \
    'clang-tidy -p "$1" --quiet "$2" >"$3/$(echo "$2" | tr / _).log" 2>&1 || touch "$3/failed"' \
    sh "$build" {} "$logs"

findings=$(cat "$logs"/*.log | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' | sort -u || true)
if [[ -e $logs/failed || -n $findings ]]; then
  cat "$logs"/*.log | grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' >&2 || true
  count=$(printf '%s\n' "$findings" | grep -c . || true)
  echo "check-tidy: $count finding(s) in ${#files[@]} files; fix them (clang-tidy -p $build FILE" \
    "shows one file; --fix applies the fixes that have one), or for a false positive add" \
    "// NOLINT(check-name) with the reason" >&2
  exit 1
fi
echo "check-tidy: ${#files[@]} files clean ($((SECONDS - start)) s, $jobs jobs)"
