// fabric-emulation-predict: the planner's prediction for a config exactly as it is deployed
// (its cards, its groups' TP x PP, the model file it serves) under a benchmark's fixed
// concurrency. `fabric plan` ranks every plan and prints tokens/s; bench/run_emulation_bench.sh
// needs TPOT of one plan at the benchmark's batch, to set beside `fabric bench`'s.
//
//   fabric-emulation-predict --config FILE [--prompt-tokens N] [--output-tokens N]
//                            [--concurrency C] [--host-step-us US]
//
// Prints one JSON object: plan, ttft_seconds, tpot_seconds (one sequence), batch (the
// concurrency spread evenly over the decode-capable instances, as the scheduler admits
// sequences), batch_tpot_seconds, decode_bound (at that batch).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/cli_args.h"
#include "common/status_macros.h"
#include "model/model_file.h"
#include "planner/cluster_model.h"
#include "server/config/config_loader.h"
#include "server/config/config_validation.h"
#include "server/plan_command.h"

namespace fabric {
namespace {

constexpr char kUsage[] =
    "usage: fabric-emulation-predict --config FILE [--prompt-tokens N] [--output-tokens N] "
    "[--concurrency C] [--host-step-us US]";

absl::StatusOr<planner::Role> RoleOf(const std::string& name) {
  if (name == "unified") return planner::Role::kUnified;
  if (name == "prefill") return planner::Role::kPrefill;
  if (name == "decode") return planner::Role::kDecode;
  return absl::InvalidArgumentError(absl::StrCat("unknown role '", name, "'"));
}

// Instances that decode: unified and decode groups'.
int DecodingInstances(const planner::ClusterPlan& plan) {
  int instances = 0;
  for (const planner::GroupPlan& group : plan.groups) {
    if (group.role != planner::Role::kPrefill) instances += group.instances;
  }
  return instances;
}

// The plan the config deploys: its groups in order, each of instances of its TP x PP.
absl::StatusOr<planner::ClusterPlan> DeployedPlan(const v1::ClusterConfig& config) {
  planner::ClusterPlan plan;
  for (const v1::CardGroupConfig& group : EffectiveGroups(config)) {
    planner::GroupPlan out;
    ASSIGN_OR_RETURN(out.role, RoleOf(group.role()));
    out.shape = {.tensor_parallel = std::max(group.tensor_parallel(), 1),
                 .pipeline_parallel = std::max(group.pipeline_parallel(), 1)};
    out.instances = group.cards_size() / out.shape.cards();
    plan.groups.push_back(out);
  }
  return plan;
}

absl::Status Run(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(
      const CliArgs flags,
      CliArgs::Parse(args,
                     {"config", "prompt-tokens", "output-tokens", "concurrency", "host-step-us"}));
  if (flags.Has("help")) {
    std::printf("%s\n", kUsage);
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(flags.Require({"config"}));
  ASSIGN_OR_RETURN(v1::ClusterConfig config, LoadClusterConfig(flags.GetString("config")));
  ApplyDefaults(&config);
  RETURN_IF_ERROR(ValidateClusterConfig(config));
  planner::Workload workload;
  ASSIGN_OR_RETURN(workload.prompt_tokens, flags.GetInt("prompt-tokens", workload.prompt_tokens));
  ASSIGN_OR_RETURN(workload.output_tokens, flags.GetInt("output-tokens", workload.output_tokens));
  ASSIGN_OR_RETURN(const int concurrency, flags.GetInt("concurrency", 1));
  ASSIGN_OR_RETURN(const float host_step_us, flags.GetFloat("host-step-us", 0));
  workload.host_step_seconds = host_step_us * 1e-6;
  ASSIGN_OR_RETURN(std::unique_ptr<ModelFile> model,
                   ModelFile::Open(config.model().path(), config.model().tokenizer()));
  ASSIGN_OR_RETURN(const planner::ModelShape shape,
                   ShapeFromModelConfig(model->config(), PrecisionOfFile(*model)));
  planner::Cluster cluster;
  ASSIGN_OR_RETURN(cluster.cards, CardsFromConfig(config));
  ASSIGN_OR_RETURN(cluster.link, planner::DefaultLink(planner::LinkKind::kPcie, cluster.cards));
  ASSIGN_OR_RETURN(const planner::ClusterPlan plan, DeployedPlan(config));
  const int instances = std::max(DecodingInstances(plan), 1);
  workload.max_batch = std::max((concurrency + instances - 1) / instances, 1);
  const planner::PlanEstimate e = planner::EstimatePlan(shape, cluster, plan, workload);
  if (!e.fits) return absl::FailedPreconditionError(e.reason);
  std::printf(
      "{\"plan\": \"%s\", \"ttft_seconds\": %.9g, \"tpot_seconds\": %.9g, \"batch\": %d, "
      "\"batch_tpot_seconds\": %.9g, \"decode_bound\": \"%s\"}\n",
      plan.Describe().c_str(), e.ttft_seconds, e.tpot_seconds, e.batch, e.batch_tpot_seconds,
      std::string(planner::BoundName(e.batch_decode_bound)).c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace fabric

int main(int argc, char** argv) {
  const absl::Status status = fabric::Run(std::vector<std::string>(argv + 1, argv + argc));
  if (!status.ok()) {
    std::fprintf(stderr, "fabric-emulation-predict: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
