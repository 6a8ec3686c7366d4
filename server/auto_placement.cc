#include "server/auto_placement.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "model/model_file.h"
#include "server/plan_command.h"

namespace fabric {
namespace {

// The planner's default workload, shortened to fit the model's context.
planner::Workload ServingWorkload(const ModelConfig& model, const v1::ClusterConfig& config) {
  planner::Workload workload;
  workload.prompt_tokens = std::min(workload.prompt_tokens, model.context_length / 2);
  workload.output_tokens = std::min(workload.output_tokens, model.context_length / 4);
  workload.max_batch = config.model().max_sequences();
  return workload;
}

// Writes `plan` into the config: one unified group as the model's TP x PP, a split as groups
// taking the cards in order.
void ApplyPlan(const planner::ClusterPlan& plan, v1::ClusterConfig* config) {
  if (plan.groups.size() == 1 && plan.groups[0].role == planner::Role::kUnified) {
    config->mutable_model()->set_tensor_parallel(plan.groups[0].shape.tensor_parallel);
    config->mutable_model()->set_pipeline_parallel(plan.groups[0].shape.pipeline_parallel);
    return;
  }
  int next_card = 0;
  for (const planner::GroupPlan& group : plan.groups) {
    v1::CardGroupConfig* out = config->add_groups();
    out->set_role(std::string(planner::RoleName(group.role)));
    out->set_tensor_parallel(group.shape.tensor_parallel);
    out->set_pipeline_parallel(group.shape.pipeline_parallel);
    for (int c = 0; c < group.cards(); ++c) out->add_cards(config->cards(next_card++).id());
  }
}

}  // namespace

bool PlacementUnset(const v1::ClusterConfig& config) {
  return config.groups_size() == 0 && config.model().tensor_parallel() == 0 &&
         config.model().pipeline_parallel() == 0 && config.cards_size() > 1;
}

absl::StatusOr<std::string> ChoosePlacement(planner::Goal goal, v1::ClusterConfig* config) {
  absl::StatusOr<planner::Cluster> cluster = [&]() -> absl::StatusOr<planner::Cluster> {
    planner::Cluster modeled;
    ASSIGN_OR_RETURN(modeled.cards, CardsFromConfig(*config));
    ASSIGN_OR_RETURN(modeled.link, planner::DefaultLink(planner::LinkKind::kPcie, modeled.cards));
    return modeled;
  }();
  if (!cluster.ok()) {
    return absl::StrCat("placement: model.tensor_parallel and pipeline_parallel unset, and the ",
                        "planner cannot model the cards (", cluster.status().message(),
                        "): each card serves a whole copy of the model");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ModelFile> model,
                   ModelFile::Open(config->model().path(), config->model().tokenizer()));
  ASSIGN_OR_RETURN(const planner::ModelShape shape,
                   ShapeFromModelConfig(model->config(), PrecisionOfFile(*model)));
  ASSIGN_OR_RETURN(const planner::PlanEstimate best,
                   planner::ChoosePlan(shape, *cluster, ServingWorkload(model->config(), *config),
                                       goal));
  ApplyPlan(best.plan, config);
  return absl::StrFormat(
      "placement: model.tensor_parallel and pipeline_parallel unset, so the planner chose %s, "
      "the best for %s: predicted TTFT %.1f ms, %.1f tokens/s per sequence, %.0f tokens/s "
      "aggregate at %d sequences per decode instance (prefill %s-bound, decode %s-bound); "
      "`fabric plan` lists the alternatives",
      best.plan.Describe(), std::string(planner::GoalName(goal)), best.ttft_seconds * 1e3,
      1.0 / best.tpot_seconds, best.aggregate_tokens_per_second, best.batch,
      std::string(planner::BoundName(best.prefill_bound)),
      std::string(planner::BoundName(best.batch_decode_bound)));
}

}  // namespace fabric
