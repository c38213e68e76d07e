# Two commands do all set-up on a fresh Debian 12 machine:
#   make run    build, then generate text with the default model
#   make test   check formatting and clang-tidy, build, then run every test (the sanitizer
#               pass first, the full suite last)
# `make demo-model` retrains models/demo (about half an hour on 2 cores; not part of CI).
BUILD       ?= build
ASAN_BUILD  ?= build-asan
JOBS        ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps configure build test test-asan check-format check-tidy format run bench fuzz demo-model clean

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Parser tests (labelled "parser") again under AddressSanitizer + UBSan.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLOCALMOE_SANITIZE=ON -DLOCALMOE_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target parser_tests
	ctest --test-dir $(ASAN_BUILD) -L parser --output-on-failure -j $(JOBS)

# The tree must match .clang-format before anything is built.
check-format: deps
	bash scripts/check-format.sh

format:
	bash scripts/check-format.sh --fix

# clang-tidy with .clang-tidy over src/, apps/ and bench/; needs only the
# configured build's compile_commands.json.
check-tidy: configure
	JOBS=$(JOBS) bash scripts/check-tidy.sh $(BUILD)

test: check-format check-tidy test-asan build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

run: build
	bash scripts/run-default.sh $(BUILD)

bench: build
	bash scripts/run-benchmarks.sh $(BUILD)

fuzz: deps
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DLOCALMOE_FUZZ=ON -DLOCALMOE_BENCH=OFF -DBUILD_TESTING=OFF
	cmake --build build-fuzz -j $(JOBS) --target fuzz_targets

demo-model:
	bash scripts/install-deps.sh --training
	/usr/bin/python3 tools/train_demo_model.py --out models/demo

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
