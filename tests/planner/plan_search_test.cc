// Cluster plans: memory fit and its reasons, plans the model's shape does not allow, the
// candidate set, and the choice for each goal moving the right way with more cards.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "planner/plan_search.h"

namespace fabric::planner {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

ModelShape Shape(const char* name, const char* precision) {
  ModelShape shape = *NamedShape(name);
  EXPECT_TRUE(ApplyPrecision(precision, &shape).ok());
  return shape;
}

Cluster Cards(const char* card, int count, LinkKind link = LinkKind::kPcie) {
  Cluster cluster{.cards = std::vector<CardSpec>(count, *FindCard(card))};
  cluster.link = *DefaultLink(link, cluster.cards);
  return cluster;
}

ClusterPlan Unified(int tp, int pp, int instances = 1) {
  return {{{.shape = {tp, pp}, .instances = instances}}};
}

// Near-ties on the goal's measure go to the other measure, yet the choice stays well defined
// where a pairwise "better" would go round in a circle: A beats B, B beats C, C beats A.
TEST(PlanSearchTest, BestPlanBreaksNearTiesWithoutCycles) {
  auto estimate = [](double request_seconds, double tokens_per_second, bool fits = true) {
    PlanEstimate e;
    e.fits = fits;
    e.request_seconds = request_seconds;
    e.aggregate_tokens_per_second = tokens_per_second;
    return e;
  };
  const std::vector<PlanEstimate> plans = {estimate(1, 100), estimate(2, 100.4),
                                           estimate(3, 100.8), estimate(0.5, 999, false)};
  EXPECT_EQ(BestPlan(plans, Goal::kLatency), &plans[0]);
  // 100.4 is within 0.5% of 100.8, and its request is shorter.
  EXPECT_EQ(BestPlan(plans, Goal::kThroughput), &plans[1]);
  EXPECT_EQ(BestPlan({estimate(1, 1, false)}, Goal::kLatency), nullptr);
}

TEST(PlanSearchTest, RankingPutsTheBestPlanFirst) {
  for (Goal goal : {Goal::kLatency, Goal::kThroughput}) {
    const std::vector<PlanEstimate> ranked =
        RankPlans(Shape("llama2-7b", "q8_0"), Cards("u280", 8), Workload{}, goal);
    ASSERT_FALSE(ranked.empty());
    EXPECT_EQ(BestPlan(ranked, goal), &ranked.front()) << GoalName(goal);
  }
}

// The host's own time per step, when given, adds once to every step: to TTFT and to the time
// per token, alone and at the plan's batch.
TEST(PlanSearchTest, HostTimePerStepAddsToEveryStep) {
  Workload with_host;
  with_host.host_step_seconds = 75e-6;
  for (const ClusterPlan& plan : {Unified(1, 1), Unified(2, 1), Unified(1, 2)}) {
    const PlanEstimate cards =
        EstimatePlan(Shape("llama2-7b", "q8_0"), Cards("u280", 2), plan, Workload{});
    const PlanEstimate host =
        EstimatePlan(Shape("llama2-7b", "q8_0"), Cards("u280", 2), plan, with_host);
    ASSERT_TRUE(cards.fits && host.fits) << plan.Describe();
    EXPECT_NEAR(host.ttft_seconds - cards.ttft_seconds, 75e-6, 1e-12) << plan.Describe();
    EXPECT_NEAR(host.tpot_seconds - cards.tpot_seconds, 75e-6, 1e-12) << plan.Describe();
    EXPECT_NEAR(host.batch_tpot_seconds - cards.batch_tpot_seconds, 75e-6, 1e-12)
        << plan.Describe();
  }
}

TEST(PlanSearchTest, RejectsWhatDoesNotFitWithTheReason) {
  const PlanEstimate estimate =
      EstimatePlan(Shape("llama2-13b", "fp16"), Cards("u280", 1), Unified(1, 1), Workload{});
  EXPECT_FALSE(estimate.fits);
  EXPECT_THAT(estimate.reason, AllOf(HasSubstr("card 0 (u280"), HasSubstr("GiB of weights"),
                                     HasSubstr("8.0 GiB of HBM")));
  // The same model fits a V80's 32 GB.
  EXPECT_TRUE(
      EstimatePlan(Shape("llama2-13b", "fp16"), Cards("v80", 1), Unified(1, 1), Workload{}).fits);
  // A long context makes the KV cache the problem.
  const Workload long_context{.prompt_tokens = 3500, .output_tokens = 500};
  const PlanEstimate kv =
      EstimatePlan(Shape("llama2-7b", "q8_0"), Cards("u280", 1), Unified(1, 1), long_context);
  EXPECT_FALSE(kv.fits);
  EXPECT_THAT(kv.reason, HasSubstr("one 4000-token sequence"));
}

TEST(PlanSearchTest, ChoosePlanSaysWhyNothingFits) {
  absl::StatusOr<PlanEstimate> plan = ChoosePlan(Shape("llama2-13b", "fp16"), Cards("u280", 1),
                                                 Workload{}, Goal::kLatency);
  ASSERT_EQ(plan.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(plan.status().message(), HasSubstr("GiB of weights"));
}

TEST(PlanSearchTest, RejectsShapesTheModelDoesNotAllow) {
  const ModelShape xl = Shape("gpt2-xl", "fp16");  // 25 heads
  EXPECT_THAT(EstimatePlan(xl, Cards("u280", 2), Unified(2, 1), Workload{}).reason,
              HasSubstr("does not divide the 25 query heads"));
  const Workload short_sequences{.prompt_tokens = 128, .output_tokens = 64};
  EXPECT_THAT(
      EstimatePlan(Shape("stories15m", "q8_0"), Cards("u280", 8), Unified(1, 8), short_sequences)
          .reason,
      HasSubstr("6 layers"));
  EXPECT_THAT(
      EstimatePlan(Shape("stories15m", "q8_0"), Cards("u280", 1), Unified(1, 1), Workload{})
          .reason,
      HasSubstr("768-token sequences exceed the model's 256-token context"));
  EXPECT_THAT(
      EstimatePlan(Shape("llama2-7b", "q8_0"), Cards("u280", 2), Unified(4, 1), Workload{})
          .reason,
      HasSubstr("needs 4 cards, the cluster has 2"));
}

TEST(PlanSearchTest, CandidatesFillTheCards) {
  const ModelShape llama = Shape("llama2-7b", "q8_0");
  EXPECT_EQ(CandidatePlans(llama, 1).size(), 1u);
  // Two cards: TP1 x2, TP1xPP2, TP2 and the one-and-one split.
  EXPECT_EQ(CandidatePlans(llama, 2).size(), 4u);
  for (int cards : {2, 4, 8}) {
    for (const ClusterPlan& plan : CandidatePlans(llama, cards)) {
      EXPECT_EQ(plan.cards(), cards) << plan.Describe();
    }
  }
  // Only TP1 divides GPT-2 XL's 25 heads.
  for (const ClusterPlan& plan : CandidatePlans(Shape("gpt2-xl", "fp16"), 4)) {
    for (const GroupPlan& group : plan.groups) EXPECT_EQ(group.shape.tensor_parallel, 1);
  }
}

TEST(PlanSearchTest, ReplicasMultiplyThroughput) {
  const ModelShape llama = Shape("llama2-7b", "q8_0");
  const PlanEstimate one = EstimatePlan(llama, Cards("u280", 2), Unified(2, 1), Workload{});
  const PlanEstimate two = EstimatePlan(llama, Cards("u280", 4), Unified(2, 1, 2), Workload{});
  ASSERT_TRUE(one.fits && two.fits);
  EXPECT_NEAR(two.aggregate_tokens_per_second, 2 * one.aggregate_tokens_per_second, 1e-6);
  EXPECT_DOUBLE_EQ(two.request_seconds, one.request_seconds);
}

TEST(PlanSearchTest, PipelineStagesDoNotSpeedUpOneSequence) {
  const ModelShape llama = Shape("llama2-7b", "q8_0");
  const PlanEstimate tp = EstimatePlan(llama, Cards("u280", 4), Unified(4, 1), Workload{});
  const PlanEstimate pp = EstimatePlan(llama, Cards("u280", 4), Unified(1, 4), Workload{});
  ASSERT_TRUE(tp.fits && pp.fits);
  EXPECT_LT(tp.tpot_seconds, pp.tpot_seconds);
  EXPECT_LT(tp.ttft_seconds, pp.ttft_seconds);
  EXPECT_GE(pp.batch, tp.batch);  // the same memory holds as large a batch
}

TEST(PlanSearchTest, MoreCardsNeverSlowTheBestRequest) {
  for (LinkKind link : {LinkKind::kPcie, LinkKind::kQsfp}) {
    double last = 1e9, last_throughput = 0;
    for (int cards : {1, 2, 4, 8}) {
      const Cluster cluster = Cards("u280", cards, link);
      const auto latency =
          ChoosePlan(Shape("llama2-7b", "q8_0"), cluster, Workload{}, Goal::kLatency);
      const auto throughput =
          ChoosePlan(Shape("llama2-7b", "q8_0"), cluster, Workload{}, Goal::kThroughput);
      ASSERT_TRUE(latency.ok() && throughput.ok()) << cards;
      EXPECT_LT(latency->request_seconds, last) << cards << " cards";
      EXPECT_GT(throughput->aggregate_tokens_per_second, last_throughput) << cards << " cards";
      last = latency->request_seconds;
      last_throughput = throughput->aggregate_tokens_per_second;
    }
  }
}

TEST(PlanSearchTest, QsfpRingBeatsPcieForTensorParallelDecode) {
  const ModelShape llama = Shape("llama2-7b", "q8_0");
  const PlanEstimate pcie = EstimatePlan(llama, Cards("u280", 8), Unified(8, 1), Workload{});
  const PlanEstimate qsfp =
      EstimatePlan(llama, Cards("u280", 8, LinkKind::kQsfp), Unified(8, 1), Workload{});
  EXPECT_LT(qsfp.tpot_seconds, pcie.tpot_seconds);
}

TEST(PlanSearchTest, GoalsPickDifferentPlansOnFourCards) {
  const ModelShape llama = Shape("llama2-7b", "q8_0");
  const Cluster cluster = Cards("u280", 4);
  const auto latency = ChoosePlan(llama, cluster, Workload{}, Goal::kLatency);
  const auto throughput = ChoosePlan(llama, cluster, Workload{}, Goal::kThroughput);
  ASSERT_TRUE(latency.ok() && throughput.ok());
  EXPECT_EQ(latency->plan.Describe(), "TP4xPP1");
  EXPECT_NE(throughput->plan.Describe(), latency->plan.Describe());
  EXPECT_LT(latency->request_seconds, throughput->request_seconds);
  EXPECT_GT(throughput->aggregate_tokens_per_second, latency->aggregate_tokens_per_second);
  // A filter keeps the search to what a config fixes.
  const auto unified = ChoosePlan(llama, cluster, Workload{}, Goal::kThroughput,
                                  [](const ClusterPlan& p) { return p.groups.size() == 1; });
  ASSERT_TRUE(unified.ok());
  EXPECT_EQ(unified->plan.groups.size(), 1u);
}

}  // namespace
}  // namespace fabric::planner
