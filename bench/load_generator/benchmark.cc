#include "bench/load_generator/benchmark.h"

#include <utility>

#include "bench/load_generator/server_probe.h"
#include "common/status_macros.h"

namespace fabric::bench {

absl::StatusOr<BenchmarkRun> RunBenchmark(WorkloadOptions workload, LoadOptions load,
                                          std::optional<GoodputSlo> goodput) {
  if (workload.model.empty()) {
    ASSIGN_OR_RETURN(workload.model, FetchFirstModelId(load.base_url, load.timeout_s));
  }
  load.api = workload.api;
  ASSIGN_OR_RETURN(std::vector<PlannedRequest> requests, BuildWorkload(workload));
  BenchmarkRun run;
  run.emulated_cards = FetchEmulatedCards(load.base_url, load.timeout_s);
  ASSIGN_OR_RETURN(run.result, RunLoad(load, requests));
  run.metrics = ComputeMetrics(run.result.records, run.result.duration_s, goodput);
  run.workload = std::move(workload);
  run.load = std::move(load);
  run.goodput = std::move(goodput);
  return run;
}

}  // namespace fabric::bench
