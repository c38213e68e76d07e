#!/usr/bin/env bash
# Installs every Debian package LocalMoE needs to build, test and benchmark.
# Idempotent and non-interactive: a second run installs nothing new.
# With --training it also installs what tools/train_demo_model.py needs.
set -euo pipefail

packages=(
  # toolchain
  g++ make cmake ninja-build pkg-config git ca-certificates
  clang libclang-rt-14-dev          # libFuzzer targets, sanitizer runtimes
  clang-format clang-tidy           # formatting and static checks (make check)
  # libraries
  libhwy-dev                        # run-time SIMD dispatch (Highway)
  libxxhash-dev                     # XXH3 hashes of KV blocks (prefix caching)
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libboost-dev                      # Asio and Beast (header-only): the HTTP server
  libgtest-dev libgmock-dev libbenchmark-dev
  # oracles and fixture writers for the tests
  python3 python3-numpy
  libsentencepiece-dev              # tokenizer.model checkpoints without tokenizer.json
  python3-jinja2                    # chat template golden strings
  python3-prometheus-client         # parses /metrics' exposition in the tests
)

# Node.js and npm run the tokenizer conformance reference (transformers.js).
# A machine may already carry a Node.js build that bundles npm (and then
# conflicts with Debian's npm package): only ask Debian when npm is absent.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

if [[ ${1:-} == --training ]]; then
  packages+=(
    python3-torch python3-regex
    libopenblas0-openmp             # PyTorch's BLAS; the reference libblas is ~25x slower
    bible-kjv                       # the training text (bible-kjv-text) and its reader
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#packages[@]} packages present"
