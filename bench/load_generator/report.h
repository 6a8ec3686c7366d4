// A run's results as `vllm bench serve` reports them: a table for people, and JSON with
// vLLM's field names (duration, completed, mean_ttft_ms, p99_itl_ms, ...) for tools.
#ifndef FABRIC_BENCH_LOAD_GENERATOR_REPORT_H_
#define FABRIC_BENCH_LOAD_GENERATOR_REPORT_H_

#include <string>
#include <utility>
#include <vector>

#include "bench/load_generator/benchmark.h"
#include "nlohmann/json.hpp"

namespace fabric::bench {

// The distinct error messages of failed requests with how often each came, in order of first
// appearance, at most `limit` of them.
std::vector<std::pair<std::string, int>> ErrorSamples(const std::vector<RequestRecord>& records,
                                                      size_t limit);

std::string FormatReport(const BenchmarkRun& run);
nlohmann::json ReportJson(const BenchmarkRun& run);

}  // namespace fabric::bench

#endif  // FABRIC_BENCH_LOAD_GENERATOR_REPORT_H_
