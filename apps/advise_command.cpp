// `localmoe advise`: recommends a deployment (quantization, KV dtype,
// parallelism, batching) for a model on given hardware, with the reasons and
// the numbers; its YAML output is a config `serve` accepts.

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "localmoe/base/error.h"
#include "localmoe/config/advisor.h"
#include "localmoe/config/cli_options.h"
#include "localmoe/config/hardware.h"
#include "localmoe/config/model_catalog.h"

namespace localmoe::apps {
namespace {

struct AdviseArgs {
  std::vector<std::string> models;
  std::string scenario = "chat";
  std::string hardware = "l40s";
  int64_t gpus = 1;
  double utilization = 0.0;  // 0 = 0.9 on a GPU, 0.5 on the CPU (the OS keeps the rest)
  std::string format = "table";
  std::string models_dir = "models";
};

std::string known_models() {
  std::string out;
  for (const ModelSpec& m : model_catalog()) out += "\n  " + m.id;
  return out;
}

void run_advise(const AdviseArgs& args) {
  std::optional<Scenario> scenario = parse_enum<Scenario>(args.scenario);
  if (!scenario) {
    throw make_error(ErrorKind::kInvalidArgument, "unknown --scenario '", args.scenario,
                     "'; expected ", enum_choices<Scenario>());
  }
  const HardwareSpec hw = hardware_by_id(args.hardware);
  AdviceRequest request;
  request.scenario = *scenario;
  request.hardware = hw;
  request.gpus = args.gpus;
  request.gpu_memory_utilization =
      args.utilization > 0 ? args.utilization : (hw.is_cpu ? 0.5 : 0.9);
  for (const std::string& name : args.models) {
    std::optional<ModelSpec> spec = resolve_model(name, args.models_dir);
    if (!spec) {
      throw make_error(
          ErrorKind::kNotFound, "model '", name,
          "' is neither a directory with config.json nor a known id; known ids:", known_models());
    }
    request.models.push_back(*spec);
  }
  const Advice advice = advise(request);
  std::string text;
  if (args.format == "yaml") {
    text = advice_to_yaml(advice);
  } else if (args.format == "json") {
    text = advice_to_json(advice);
  } else {
    text = advice_to_table(advice);
  }
  std::fputs(text.c_str(), advice.feasible ? stdout : stderr);
  if (!text.empty() && text.back() != '\n') std::fputc('\n', advice.feasible ? stdout : stderr);
  if (!advice.feasible) throw CLI::RuntimeError(1);
}

}  // namespace

void add_advise_command(CLI::App& app) {
  auto args = std::make_shared<AdviseArgs>();
  CLI::App* cmd =
      app.add_subcommand("advise", "Recommend quantization, parallelism and batching for a model");
  cmd->add_option("--model", args->models, "model directory or known id (repeat for multi_model)")
      ->required();
  cmd->add_option("--scenario", args->scenario, "chat|code|high_throughput|low_latency|multi_model")
      ->capture_default_str();
  cmd->add_option("--hardware", args->hardware,
                  "l40s, a100_40gb, a100_80gb, h100_sxm, h100_pcie, h200, rtx4090, l4, cpu")
      ->capture_default_str();
  cmd->add_option("--gpus", args->gpus, "devices available")
      ->check(at_least(1))
      ->capture_default_str();
  cmd->add_option(
         "--gpu-memory-utilization", args->utilization,
         "fraction of each device the engine may use (default 0.9 on a GPU, 0.5 on the CPU)")
      ->check(in_range(0, 1));
  cmd->add_option("--format", args->format, "table|yaml|json")
      ->check(CLI::IsMember({"table", "yaml", "json"}))
      ->capture_default_str();
  cmd->add_option("--models-dir", args->models_dir, "where model ids resolve")
      ->capture_default_str();
  cmd->callback([args] { run_advise(*args); });
}

}  // namespace localmoe::apps
