#include "bench/load_generator/statistics.h"

#include <cmath>
#include <vector>

#include "bench/load_generator/benchmark_metrics.h"
#include "gtest/gtest.h"

namespace fabric::bench {
namespace {

// Expected values from numpy: np.mean, np.median, np.std (ddof=0), np.percentile(x, 99).
TEST(StatisticsTest, SummaryMatchesNumpy) {
  Summary s = Summarize({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(1.25));
  EXPECT_DOUBLE_EQ(s.p99, 3.97);

  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) hundred.push_back(i);
  s = Summarize(hundred);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_DOUBLE_EQ(s.median, 50.5);
  EXPECT_NEAR(s.std, std::sqrt((100.0 * 100.0 - 1) / 12), 1e-12);
  EXPECT_NEAR(s.p99, 99.01, 1e-12);

  EXPECT_DOUBLE_EQ(Summarize({5, 1, 3}).median, 3);
}

TEST(StatisticsTest, EdgeSamples) {
  Summary empty = Summarize({});
  EXPECT_EQ(empty.mean, 0);
  EXPECT_EQ(empty.median, 0);
  EXPECT_EQ(empty.std, 0);
  EXPECT_EQ(empty.p99, 0);
  Summary one = Summarize({7});
  EXPECT_EQ(one.mean, 7);
  EXPECT_EQ(one.median, 7);
  EXPECT_EQ(one.std, 0);
  EXPECT_EQ(one.p99, 7);
  EXPECT_DOUBLE_EQ(Percentile({10, 20}, 0), 10);
  EXPECT_DOUBLE_EQ(Percentile({10, 20}, 100), 20);
  EXPECT_DOUBLE_EQ(Percentile({10, 20}, 25), 12.5);
}

RequestRecord Completed(double ttft, double latency, int output_tokens, int input_tokens,
                        std::vector<double> itl) {
  RequestRecord r;
  r.success = true;
  r.ttft = ttft;
  r.latency = latency;
  r.output_tokens = output_tokens;
  r.input_tokens = input_tokens;
  r.itl = std::move(itl);
  return r;
}

// Dyadic times, so the SLO comparisons at the boundary are exact.
std::vector<RequestRecord> Records() {
  RequestRecord failed;
  failed.error = "HTTP 429: queue full";
  failed.prompt_len = 40;
  return {
      Completed(0.0625, 0.5, 8, 10, {0.25, 0.125, 0.0625}),  // TPOT 62.5 ms
      Completed(0.125, 0.25, 5, 20, {0.125}),                // TPOT 31.25 ms
      Completed(0.25, 0.25, 1, 30, {}),                      // no TPOT (one token)
      failed,
  };
}

TEST(BenchmarkMetricsTest, VllmDefinitions) {
  BenchmarkMetrics m = ComputeMetrics(Records(), 2.0, std::nullopt);
  EXPECT_EQ(m.completed, 3);
  EXPECT_EQ(m.failed, 1);
  EXPECT_EQ(m.total_input, 60);  // failed requests count nothing
  EXPECT_EQ(m.total_output, 14);
  EXPECT_DOUBLE_EQ(m.request_throughput, 1.5);
  EXPECT_DOUBLE_EQ(m.output_throughput, 7);
  EXPECT_DOUBLE_EQ(m.total_token_throughput, 37);
  EXPECT_FALSE(m.request_goodput.has_value());
  EXPECT_DOUBLE_EQ(m.ttft_ms.mean, (62.5 + 125 + 250) / 3);
  EXPECT_DOUBLE_EQ(m.ttft_ms.median, 125);
  EXPECT_DOUBLE_EQ(m.tpot_ms.mean, (62.5 + 31.25) / 2);  // only requests with 2+ tokens
  EXPECT_DOUBLE_EQ(m.itl_ms.mean, (250 + 125 + 62.5 + 125) / 4);  // every gap, pooled
  EXPECT_DOUBLE_EQ(m.itl_ms.median, 125);
  EXPECT_DOUBLE_EQ(m.e2el_ms.median, 250);
}

double Goodput(const std::string& spec) {
  absl::StatusOr<GoodputSlo> slo = ParseGoodput(spec);
  EXPECT_TRUE(slo.ok()) << slo.status();
  return ComputeMetrics(Records(), 2.0, *slo).request_goodput.value();
}

TEST(BenchmarkMetricsTest, GoodputCountsRequestsMeetingEverySlo) {
  // A request is good when each SLO >= its value; a one-token request's TPOT counts as 0.
  EXPECT_DOUBLE_EQ(Goodput("ttft:125"), 2 / 2.0);             // first two
  EXPECT_DOUBLE_EQ(Goodput("tpot:31.25"), 2 / 2.0);           // second and third
  EXPECT_DOUBLE_EQ(Goodput("ttft:125 tpot:31.25"), 1 / 2.0);  // second only
  EXPECT_DOUBLE_EQ(Goodput("e2el:250"), 2 / 2.0);             // second and third
  EXPECT_DOUBLE_EQ(Goodput("ttft:1,tpot:1"), 0);
  EXPECT_DOUBLE_EQ(Goodput("ttft:1000 tpot:1000 e2el:1000"), 3 / 2.0);  // never the failed one
}

TEST(BenchmarkMetricsTest, ParseGoodputRejectsNonsense) {
  for (const char* bad : {"", "ttft", "ttft:", "ttft:-1", "ttft:fast", "latency:5", " , "}) {
    EXPECT_FALSE(ParseGoodput(bad).ok()) << bad;
  }
  absl::StatusOr<GoodputSlo> slo = ParseGoodput("ttft:500 tpot:50");
  ASSERT_TRUE(slo.ok());
  EXPECT_EQ(slo->ttft_ms, 500);
  EXPECT_EQ(slo->tpot_ms, 50);
  EXPECT_FALSE(slo->e2el_ms.has_value());
}

}  // namespace
}  // namespace fabric::bench
