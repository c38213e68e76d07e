#!/usr/bin/env bash
# Every benchmark in bench/, one after the other (they compete for cores:
# run nothing else meanwhile). Each prints its figure and its share of the
# hardware limit.
set -euo pipefail
build=${1:-build}
"$build/bench/decode_roofline" --dtype bf16 --threads 2
"$build/bench/decode_roofline" --dtype f16 --threads 2
"$build/bench/matmul_bench"
