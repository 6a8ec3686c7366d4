#include "planner/plan_search.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace fabric::planner {
namespace {

// Measures within this fraction of each other count as a tie.
constexpr double kTie = 0.005;

// Instance shapes that fill `cards` cards exactly with whole instances.
std::vector<InstanceShape> ShapesFilling(const ModelShape& shape, int cards) {
  std::vector<InstanceShape> shapes;
  for (int tp : {1, 2, 4, 8}) {
    if (!TensorParallelProblem(shape, tp).empty()) continue;
    for (int pp = 1; pp <= std::min(cards, shape.n_layers); ++pp) {
      if (cards % (tp * pp) == 0) shapes.push_back({tp, pp});
    }
  }
  return shapes;
}

GroupPlan Fill(Role role, InstanceShape shape, int cards) {
  return {.role = role, .shape = shape, .instances = cards / shape.cards()};
}

absl::Status CheckCluster(const ModelShape& shape, const Cluster& cluster) {
  RETURN_IF_ERROR(ValidateShape(shape));
  if (cluster.cards.empty()) return absl::InvalidArgumentError("the cluster has no cards");
  for (const CardSpec& card : cluster.cards) RETURN_IF_ERROR(ValidateCard(card));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Goal> ParseGoal(std::string_view name) {
  if (name == "latency") return Goal::kLatency;
  if (name == "throughput") return Goal::kThroughput;
  return absl::InvalidArgumentError(
      absl::StrCat("goal must be latency or throughput, not '", std::string(name), "'"));
}

std::string_view GoalName(Goal goal) {
  return goal == Goal::kLatency ? "latency" : "throughput";
}

std::vector<ClusterPlan> CandidatePlans(const ModelShape& shape, int cards) {
  std::vector<ClusterPlan> plans;
  for (InstanceShape s : ShapesFilling(shape, cards)) {
    plans.push_back({{Fill(Role::kUnified, s, cards)}});
  }
  for (int prefill = 1; prefill < cards; ++prefill) {
    for (InstanceShape p : ShapesFilling(shape, prefill)) {
      for (InstanceShape d : ShapesFilling(shape, cards - prefill)) {
        plans.push_back(
            {{Fill(Role::kPrefill, p, prefill), Fill(Role::kDecode, d, cards - prefill)}});
      }
    }
  }
  return plans;
}

namespace {

// The goal's own measure, larger is better, and the measure that breaks near-ties.
double Primary(const PlanEstimate& e, Goal goal) {
  return goal == Goal::kLatency ? -e.request_seconds : e.aggregate_tokens_per_second;
}
double Secondary(const PlanEstimate& e, Goal goal) {
  return goal == Goal::kLatency ? e.aggregate_tokens_per_second : -e.request_seconds;
}

}  // namespace

const PlanEstimate* BestPlan(const std::vector<PlanEstimate>& estimates, Goal goal) {
  // Two passes, so that the choice is well defined: the best goal measure, then among the
  // plans within kTie of it, the best other measure (the earliest candidate on a full tie).
  const PlanEstimate* top = nullptr;
  for (const PlanEstimate& e : estimates) {
    if (e.fits && (top == nullptr || Primary(e, goal) > Primary(*top, goal))) top = &e;
  }
  if (top == nullptr) return nullptr;
  const double band = kTie * std::abs(Primary(*top, goal));
  const PlanEstimate* best = nullptr;
  for (const PlanEstimate& e : estimates) {
    if (!e.fits || Primary(e, goal) < Primary(*top, goal) - band) continue;
    if (best == nullptr || Secondary(e, goal) > Secondary(*best, goal)) best = &e;
  }
  return best;
}

std::vector<PlanEstimate> RankPlans(const ModelShape& shape, const Cluster& cluster,
                                    const Workload& workload, Goal goal,
                                    const PlanFilter& allowed) {
  std::vector<PlanEstimate> estimates;
  const int cards = static_cast<int>(cluster.cards.size());
  for (const ClusterPlan& plan : CandidatePlans(shape, cards)) {
    if (allowed && !allowed(plan)) continue;
    estimates.push_back(EstimatePlan(shape, cluster, plan, workload));
  }
  // Feasible plans by the goal's measure (a strict order), the best of BestPlan first.
  std::stable_sort(estimates.begin(), estimates.end(),
                   [goal](const PlanEstimate& a, const PlanEstimate& b) {
                     if (a.fits != b.fits) return a.fits;
                     return a.fits && Primary(a, goal) > Primary(b, goal);
                   });
  if (const PlanEstimate* best = BestPlan(estimates, goal); best != nullptr) {
    const auto at = estimates.begin() + (best - estimates.data());
    std::rotate(estimates.begin(), at, at + 1);
  }
  return estimates;
}

absl::StatusOr<PlanEstimate> ChoosePlan(const ModelShape& shape, const Cluster& cluster,
                                        const Workload& workload, Goal goal,
                                        const PlanFilter& allowed) {
  RETURN_IF_ERROR(CheckCluster(shape, cluster));
  std::vector<PlanEstimate> ranked = RankPlans(shape, cluster, workload, goal, allowed);
  if (!ranked.empty() && ranked.front().fits) return ranked.front();
  std::vector<std::string> reasons;
  for (const PlanEstimate& estimate : ranked) reasons.push_back(estimate.reason);
  if (reasons.empty()) reasons.push_back("no candidate plan is allowed");
  return absl::ResourceExhaustedError(
      absl::StrCat("no plan for model '", shape.name, "' fits the ", cluster.cards.size(),
                   " card(s):\n  ", absl::StrJoin(reasons, "\n  ")));
}

}  // namespace fabric::planner
