// `fabric plan`: the analytical performance model's view of a model on a cluster: every
// feasible TP x PP and prefill/decode split with its predicted TTFT, tokens per second and
// memory, the best for a goal marked, and what does not fit with the reason (planner/).
#ifndef FABRIC_SERVER_PLAN_COMMAND_H_
#define FABRIC_SERVER_PLAN_COMMAND_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fabric/v1/config.pb.h"
#include "model/model_config.h"
#include "model/model_file.h"
#include "planner/card_catalog.h"
#include "planner/model_shape.h"

namespace fabric {

absl::Status RunPlanCommand(const std::vector<std::string>& args);

// What RunPlanCommand prints for `args` (its usage for --help).
absl::StatusOr<std::string> PlanCommandOutput(const std::vector<std::string>& args);

// A loaded model's precision as Fabric's kernels hold it: "q8_0" for Q8_0 matrices, else "f32"
// (F16 is widened to F32 on the card).
std::string PrecisionOfFile(const ModelFile& model);

// The planner's shape of a loaded model whose weights are stored as `precision`
// (planner::PrecisionNames(): "q8_0" or "f32" for what Fabric's kernels run).
absl::StatusOr<planner::ModelShape> ShapeFromModelConfig(const ModelConfig& config,
                                                         std::string_view precision);

// The card each config card is modeled as: its `custom` figures, else the catalogue card it
// `emulate`s. An error names the card and the catalogue when a card says neither.
absl::StatusOr<std::vector<planner::CardSpec>> CardsFromConfig(const v1::ClusterConfig& config);

}  // namespace fabric

#endif  // FABRIC_SERVER_PLAN_COMMAND_H_
