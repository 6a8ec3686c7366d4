// The figures of a run, computed from its request records with `vllm bench serve`'s
// definitions (benchmarks/serve.py, calculate_metrics).
#ifndef FABRIC_BENCH_LOAD_GENERATOR_BENCHMARK_METRICS_H_
#define FABRIC_BENCH_LOAD_GENERATOR_BENCHMARK_METRICS_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/load_generator/response_tracker.h"
#include "bench/load_generator/statistics.h"

namespace fabric::bench {

// Service-level objectives in milliseconds; a request meets them when each set one is >= its
// TTFT, TPOT or E2EL.
struct GoodputSlo {
  std::optional<double> ttft_ms;
  std::optional<double> tpot_ms;
  std::optional<double> e2el_ms;
};

// "ttft:500 tpot:50" (spaces or commas between; keys ttft, tpot, e2el; values ms >= 0).
absl::StatusOr<GoodputSlo> ParseGoodput(absl::string_view spec);

struct BenchmarkMetrics {
  int completed = 0;
  int failed = 0;
  long long total_input = 0;   // over completed requests
  long long total_output = 0;  // over completed requests
  double request_throughput = 0;      // completed / duration
  std::optional<double> request_goodput;  // completed within the SLOs / duration
  double output_throughput = 0;       // output tokens / duration
  double total_token_throughput = 0;  // (input + output tokens) / duration
  // In milliseconds. TPOT = (E2EL - TTFT) / (output tokens - 1), over requests with more than
  // one output token; ITL pools every gap of every request.
  Summary ttft_ms, tpot_ms, itl_ms, e2el_ms;
};

BenchmarkMetrics ComputeMetrics(const std::vector<RequestRecord>& records, double duration_s,
                                const std::optional<GoodputSlo>& slo);

}  // namespace fabric::bench

#endif  // FABRIC_BENCH_LOAD_GENERATOR_BENCHMARK_METRICS_H_
