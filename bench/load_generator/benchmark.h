// One `fabric bench` run: find the model, draw the workload, send it, compute the figures.
#ifndef FABRIC_BENCH_LOAD_GENERATOR_BENCHMARK_H_
#define FABRIC_BENCH_LOAD_GENERATOR_BENCHMARK_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/load_generator/benchmark_metrics.h"
#include "bench/load_generator/load_generator.h"
#include "bench/load_generator/workload.h"

namespace fabric::bench {

// What was asked for and what came back.
struct BenchmarkRun {
  WorkloadOptions workload;  // with the model filled in
  LoadOptions load;
  std::optional<GoodputSlo> goodput;
  LoadResult result;
  BenchmarkMetrics metrics;
  // Fabric's mock cards timed like real ones ("card0 as u280"): where there are any, the
  // latencies are the emulated cards', not this machine's.
  std::vector<std::string> emulated_cards;
};

// An empty `workload.model` is asked of the server (the first id of GET /v1/models);
// `load.api` is taken from the workload. Fails only when the run could not happen; failed
// requests are counted in the result.
absl::StatusOr<BenchmarkRun> RunBenchmark(WorkloadOptions workload, LoadOptions load,
                                          std::optional<GoodputSlo> goodput);

}  // namespace fabric::bench

#endif  // FABRIC_BENCH_LOAD_GENERATOR_BENCHMARK_H_
