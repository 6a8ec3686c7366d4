// Automatic placement: every TP x PP and prefill/decode split a cluster allows, estimated and
// ranked for a goal. `fabric plan` lists them; `fabric serve` takes ChoosePlan's answer when
// its config leaves TP x PP or the split unset.
#ifndef FABRIC_PLANNER_PLAN_SEARCH_H_
#define FABRIC_PLANNER_PLAN_SEARCH_H_

#include <functional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "planner/cluster_model.h"
#include "planner/model_shape.h"

namespace fabric::planner {

enum class Goal {
  kLatency,     // shortest request alone: TTFT plus every further token
  kThroughput,  // most output tokens per second from the whole cluster under load
};
absl::StatusOr<Goal> ParseGoal(std::string_view name);  // "latency" or "throughput"
std::string_view GoalName(Goal goal);

// The plans of `cards` cards the model's heads and layers allow: one unified group of
// instances of one TP x PP shape filling the cards (TP in 1, 2, 4, 8), and with two or more
// cards every split into a prefill group on the first cards and a decode group on the rest,
// each filled with instances of one shape.
std::vector<ClusterPlan> CandidatePlans(const ModelShape& shape, int cards);

// The feasible estimate that serves `goal` best, or nullptr when none fits: the shortest
// request (latency) or the most aggregate tokens/s (throughput); among plans within 0.5% of
// that, the best on the other measure.
const PlanEstimate* BestPlan(const std::vector<PlanEstimate>& estimates, Goal goal);

// Restricts the search, e.g. to a config's fixed roles or TP; null allows every candidate.
using PlanFilter = std::function<bool(const ClusterPlan&)>;

// Every allowed candidate on all of the cluster's cards, estimated: BestPlan for `goal` first,
// the other feasible ones by the goal's measure, then those that do not fit (with their
// reasons) in candidate order.
std::vector<PlanEstimate> RankPlans(const ModelShape& shape, const Cluster& cluster,
                                    const Workload& workload, Goal goal,
                                    const PlanFilter& allowed = nullptr);

// The best feasible plan for `goal`. ResourceExhausted when none fits, listing why each
// candidate failed; InvalidArgument for a shape or cluster that cannot be modeled.
absl::StatusOr<PlanEstimate> ChoosePlan(const ModelShape& shape, const Cluster& cluster,
                                        const Workload& workload, Goal goal,
                                        const PlanFilter& allowed = nullptr);

}  // namespace fabric::planner

#endif  // FABRIC_PLANNER_PLAN_SEARCH_H_
