#pragma once
// The tiny reference checkpoints that tests/reference/make_fixtures.py writes
// for the `reference_models` CTest fixture, and the outputs of the float64
// Hugging Face oracle stored next to each (expected.safetensors).

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "localmoe/base/tensor.h"
#include "localmoe/loader/checkpoint.h"

namespace localmoe {

// $LOCALMOE_TEST_DATA/models/<name>; test_data/models/<name> when the
// variable is unset (a test binary run by hand from the build directory).
inline std::string model_dir(std::string_view name) {
  const char* data = std::getenv("LOCALMOE_TEST_DATA");
  return std::string(data != nullptr ? data : "test_data") + "/models/" + std::string(name);
}

// One integer tensor of a fixture's expected.safetensors ("input_ids", "greedy_ids").
inline std::vector<int32_t> expected_ints(const std::string& dir, const char* name) {
  const auto source = open_checkpoint(dir + "/expected.safetensors");
  const TensorView v = source->view(name);
  return {v.as<int32_t>(), v.as<int32_t>() + v.num_elements()};
}

// What the oracle computed for a fixture's prompt.
struct OracleOutputs {
  std::vector<int32_t> input_ids;   // [T]
  std::vector<float> logits;        // [T, vocab]
  std::vector<int32_t> greedy_ids;  // the greedy continuation of input_ids
};

inline OracleOutputs read_expected(const std::string& dir) {
  const auto source = open_checkpoint(dir + "/expected.safetensors");
  const TensorView logits = source->view("logits");
  return {expected_ints(dir, "input_ids"),
          std::vector<float>(logits.as<float>(), logits.as<float>() + logits.num_elements()),
          expected_ints(dir, "greedy_ids")};
}

}  // namespace localmoe
