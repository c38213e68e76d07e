// `localmoe inspect PATH`: what a checkpoint holds, without loading a model:
// the architecture from config.json, parameters by part of the network from
// the tensor names, dtypes and bytes. The text and --json outputs are two
// renderings of one report object, so they cannot disagree.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "localmoe/config/hf_config.h"
#include "localmoe/loader/checkpoint.h"
#include "localmoe/loader/parameter_census.h"

namespace localmoe::apps {
namespace {

using nlohmann::ordered_json;

// A float as the shortest decimal that reads back to it (1e-05, not
// 9.999999747378752e-06), as config.json wrote it.
double shortest_decimal(float value) {
  char text[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(text, sizeof(text), "%.*g", digits, value);
    if (std::strtof(text, nullptr) == value) break;
  }
  return std::strtod(text, nullptr);
}

ordered_json config_report(const ModelConfig& c) {
  ordered_json j;
  j["architecture"] = c.arch_name;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_layers"] = c.num_layers;
  j["num_heads"] = c.num_heads;
  j["num_kv_heads"] = c.num_kv_heads;
  j["head_dim"] = c.head_dim;
  j["max_position_embeddings"] = c.max_position_embeddings;
  if (c.is_moe()) {
    j["num_experts"] = c.num_experts;
    j["num_experts_per_token"] = c.num_experts_per_token;
  }
  j["norm"] = c.norm == NormKind::kRmsNorm ? "rms_norm" : "layer_norm";
  j["norm_eps"] = shortest_decimal(c.norm_eps);
  j["activation"] = c.activation == ActivationKind::kSilu ? "silu" : "gelu_tanh";
  if (c.position == PositionKind::kRope) {
    j["position"] = "rope";
    j["rope_theta"] = c.rope_theta;
    if (c.rope_scaling == RopeScalingKind::kLinear)
      j["rope_linear_scaling"] = c.rope_scaling_factor;
  } else {
    j["position"] = "learned";
  }
  j["sliding_window"] = c.sliding_window ? ordered_json(*c.sliding_window) : ordered_json(nullptr);
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["torch_dtype"] =
      c.torch_dtype ? ordered_json(std::string(dtype_name(*c.torch_dtype))) : ordered_json(nullptr);
  return j;
}

ordered_json census_report(const ParameterCensus& census) {
  ordered_json parameters;
  for (int part = 0; part < kNumParameterParts; ++part) {
    parameters[std::string(parameter_part_name(static_cast<ParameterPart>(part)))] =
        census.num_params[part];
  }
  parameters["total"] = census.total_params;
  ordered_json dtypes = ordered_json::array();
  for (const DTypeTally& tally : census.dtypes) {
    dtypes.push_back({{"dtype", dtype_name(tally.dtype)},
                      {"tensors", tally.num_tensors},
                      {"bytes", tally.num_bytes}});
  }
  ordered_json j;
  j["parameters"] = std::move(parameters);
  j["dtypes"] = std::move(dtypes);
  j["num_tensors"] = census.num_tensors;
  j["total_bytes"] = census.total_bytes;
  return j;
}

ordered_json inspect(const std::string& path) {
  ordered_json report;
  report["path"] = path;
  report["config"] = std::filesystem::is_directory(path) ? config_report(load_hf_config(path))
                                                         : ordered_json(nullptr);
  const std::unique_ptr<TensorSource> source = open_checkpoint(path);
  report["checkpoint"] = source->description();
  report.update(census_report(take_parameter_census(*source)));
  return report;
}

// 1234567 -> "1,234,567"
std::string with_commas(int64_t value) {
  std::string digits = std::to_string(value);
  for (int pos = static_cast<int>(digits.size()) - 3; pos > 0; pos -= 3) {
    digits.insert(static_cast<size_t>(pos), ",");
  }
  return digits;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.2f %s", bytes, units[unit]);
  return text;
}

void print_text(const ordered_json& report) {
  std::printf("path: %s\ncheckpoint: %s\n", report["path"].get<std::string>().c_str(),
              report["checkpoint"].get<std::string>().c_str());
  if (!report["config"].is_null()) {
    std::printf("\nconfig.json\n");
    for (const auto& [key, value] : report["config"].items()) {
      const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      std::printf("  %-24s %s\n", key.c_str(), text.c_str());
    }
  }
  const ordered_json& parameters = report["parameters"];
  const double total = std::max<double>(1.0, parameters["total"].get<double>());
  std::printf("\nparameters (elements as stored)\n");
  for (const auto& [part, count] : parameters.items()) {
    std::printf("  %-12s %18s  %6.2f%%\n", part.c_str(), with_commas(count.get<int64_t>()).c_str(),
                100.0 * count.get<double>() / total);
  }
  std::printf("\ndtypes\n");
  for (const ordered_json& tally : report["dtypes"]) {
    std::printf("  %-8s %6lld tensors  %12s\n", tally["dtype"].get<std::string>().c_str(),
                static_cast<long long>(tally["tensors"].get<int64_t>()),
                human_bytes(tally["bytes"].get<double>()).c_str());
  }
  std::printf("\n%s tensors, %s (%s bytes)\n",
              with_commas(report["num_tensors"].get<int64_t>()).c_str(),
              human_bytes(report["total_bytes"].get<double>()).c_str(),
              with_commas(report["total_bytes"].get<int64_t>()).c_str());
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Describe a checkpoint: architecture, parameters by part, dtypes and bytes");
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("path", *path,
                  "Model directory (config.json + safetensors) or a .safetensors file")
      ->required();
  cmd->add_flag("--json", *as_json, "Print the report as one JSON object");
  cmd->callback([path, as_json] {
    const ordered_json report = inspect(*path);
    if (*as_json) {
      std::printf("%s\n", report.dump(2).c_str());
    } else {
      print_text(report);
    }
  });
}

}  // namespace localmoe::apps
