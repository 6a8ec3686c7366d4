#include "bench/load_generator/workload.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace fabric::bench {
namespace {

using nlohmann::json;

// Deterministic for a seed, so these statistical checks pass or fail the same way every run;
// the tolerances are several standard errors wide for the sample sizes used.
TEST(PoissonArrivalsTest, MeanGapIsOneOverTheRate) {
  constexpr int kCount = 20000;
  for (double rate : {0.5, 10.0, 250.0}) {
    const std::vector<double> arrivals = PoissonArrivals(kCount, rate, 42);
    ASSERT_EQ(arrivals.size(), kCount);
    EXPECT_EQ(arrivals[0], 0);
    double sum = 0, sum_squares = 0;
    for (int i = 1; i < kCount; ++i) {
      const double gap = arrivals[i] - arrivals[i - 1];
      ASSERT_GE(gap, 0);
      sum += gap;
      sum_squares += gap * gap;
    }
    const double mean = sum / (kCount - 1);
    const double stddev = std::sqrt(sum_squares / (kCount - 1) - mean * mean);
    EXPECT_NEAR(mean * rate, 1.0, 0.03) << "rate " << rate;     // standard error ~0.7%
    EXPECT_NEAR(stddev / mean, 1.0, 0.05) << "rate " << rate;   // exponential: CV = 1
  }
}

TEST(PoissonArrivalsTest, GapsAreMemoryless) {
  // P(gap > 1/rate) = e^-1 for exponential gaps.
  const std::vector<double> arrivals = PoissonArrivals(20000, 4.0, 7);
  int longer = 0;
  for (size_t i = 1; i < arrivals.size(); ++i) longer += arrivals[i] - arrivals[i - 1] > 0.25;
  EXPECT_NEAR(longer / 19999.0, std::exp(-1.0), 0.02);
}

TEST(PoissonArrivalsTest, DeterministicForASeed) {
  EXPECT_EQ(PoissonArrivals(100, 3.0, 1), PoissonArrivals(100, 3.0, 1));
  EXPECT_NE(PoissonArrivals(100, 3.0, 1), PoissonArrivals(100, 3.0, 2));
}

TEST(PoissonArrivalsTest, InfiniteRateSendsEverythingAtOnce) {
  EXPECT_EQ(PoissonArrivals(5, INFINITY, 1), std::vector<double>(5, 0.0));
}

WorkloadOptions Options() {
  WorkloadOptions options{.model = "m"};  // (assigning the literal trips GCC 12's -Wrestrict)
  options.num_prompts = 500;
  options.input_len = 100;
  options.output_len = 20;
  options.seed = 3;
  return options;
}

TEST(WorkloadTest, FixedLengthsAndTokenIdsInRange) {
  WorkloadOptions options = Options();
  options.token_id_min = 10;
  options.token_id_max = 12;
  absl::StatusOr<std::vector<PlannedRequest>> requests = BuildWorkload(options);
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 500);
  for (const PlannedRequest& request : *requests) {
    EXPECT_EQ(request.prompt_len, 100);
    EXPECT_EQ(request.max_tokens, 20);
    EXPECT_EQ(request.arrival, 0);
    json body = json::parse(request.body);
    EXPECT_EQ(body["model"], "m");
    EXPECT_EQ(body["max_tokens"], 20);
    EXPECT_EQ(body["stream"], true);
    EXPECT_EQ(body["stream_options"]["include_usage"], true);
    EXPECT_EQ(body["temperature"], 0.0);
    ASSERT_EQ(body["prompt"].size(), 100);
    for (const json& id : body["prompt"]) {
      EXPECT_GE(id.get<int>(), 10);
      EXPECT_LE(id.get<int>(), 12);
    }
  }
}

TEST(WorkloadTest, RandomLengthsSpanTheRange) {
  WorkloadOptions options = Options();
  options.range_ratio = 0.5;
  absl::StatusOr<std::vector<PlannedRequest>> requests = BuildWorkload(options);
  ASSERT_TRUE(requests.ok()) << requests.status();
  int min_in = 1 << 30, max_in = 0, min_out = 1 << 30, max_out = 0;
  for (const PlannedRequest& request : *requests) {
    min_in = std::min(min_in, request.prompt_len);
    max_in = std::max(max_in, request.prompt_len);
    min_out = std::min(min_out, request.max_tokens);
    max_out = std::max(max_out, request.max_tokens);
    EXPECT_EQ(json::parse(request.body)["prompt"].size(), request.prompt_len);
  }
  EXPECT_EQ(min_in, 50);  // 500 draws over 101 values reach both ends
  EXPECT_EQ(max_in, 150);
  EXPECT_EQ(min_out, 10);
  EXPECT_EQ(max_out, 30);
}

TEST(WorkloadTest, ChatSendsWords) {
  WorkloadOptions options = Options();
  options.api = Api::kChat;
  options.num_prompts = 3;
  absl::StatusOr<std::vector<PlannedRequest>> requests = BuildWorkload(options);
  ASSERT_TRUE(requests.ok()) << requests.status();
  json body = json::parse((*requests)[0].body);
  ASSERT_EQ(body["messages"].size(), 1);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  const std::string content = body["messages"][0]["content"];
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(content, ' ')).size(), 100);
  EXPECT_EQ(body["max_completion_tokens"], 20);
  EXPECT_FALSE(body.contains("prompt"));
}

TEST(WorkloadTest, SameOptionsSameRequests) {
  WorkloadOptions options = Options();
  options.range_ratio = 0.3;
  options.request_rate = 5;
  auto first = BuildWorkload(options), second = BuildWorkload(options);
  ASSERT_TRUE(first.ok() && second.ok());
  for (size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i].body, (*second)[i].body);
    EXPECT_EQ((*first)[i].arrival, (*second)[i].arrival);
  }
  options.seed = 4;
  EXPECT_NE(BuildWorkload(options)->front().body, first->front().body);
}

TEST(WorkloadTest, RejectsBadOptions) {
  auto with = [](auto change) {
    WorkloadOptions options = Options();
    change(options);
    return BuildWorkload(options).status();
  };
  EXPECT_FALSE(with([](WorkloadOptions& o) { o.num_prompts = 0; }).ok());
  EXPECT_FALSE(with([](WorkloadOptions& o) { o.input_len = 0; }).ok());
  EXPECT_FALSE(with([](WorkloadOptions& o) { o.output_len = 0; }).ok());
  EXPECT_FALSE(with([](WorkloadOptions& o) { o.range_ratio = 1; }).ok());
  EXPECT_FALSE(with([](WorkloadOptions& o) { o.request_rate = 0; }).ok());
  EXPECT_FALSE(with([](WorkloadOptions& o) { o.token_id_max = 2; }).ok());
  EXPECT_FALSE(with([](WorkloadOptions& o) { o.model.clear(); }).ok());
}

}  // namespace
}  // namespace fabric::bench
