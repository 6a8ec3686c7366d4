// `fabric serve` placing a model the way `fabric plan` would, when its config leaves the
// choice open: no card groups and neither model.tensor_parallel nor model.pipeline_parallel
// set, on several cards the planner can model (each card with `emulate` or `custom`).
#ifndef FABRIC_SERVER_AUTO_PLACEMENT_H_
#define FABRIC_SERVER_AUTO_PLACEMENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "fabric/v1/config.pb.h"
#include "planner/plan_search.h"

namespace fabric {

// Whether `config`, as loaded (before ApplyDefaults), leaves the placement to the planner.
bool PlacementUnset(const v1::ClusterConfig& config);

// For a config (defaults applied) whose placement was unset: writes the plan the planner
// ranks best for `goal` into it, as model.tensor_parallel and pipeline_parallel or as a
// prefill and a decode group, and returns a line saying what it chose and why. When the
// cards cannot be modeled, leaves the config (one card per instance) and says why.
absl::StatusOr<std::string> ChoosePlacement(planner::Goal goal, v1::ClusterConfig* config);

}  // namespace fabric

#endif  // FABRIC_SERVER_AUTO_PLACEMENT_H_
