// Asks an OpenAI-compatible server what it serves: its model, and, for Fabric, which of its
// cards are mock cards timed like real ones (so the figures are emulated).
#ifndef FABRIC_BENCH_LOAD_GENERATOR_SERVER_PROBE_H_
#define FABRIC_BENCH_LOAD_GENERATOR_SERVER_PROBE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fabric::bench {

// GET `base_url`/v1/models and return the first model's id. Blocking.
absl::StatusOr<std::string> FetchFirstModelId(const std::string& base_url, double timeout_s);

// The timed mock cards a Prometheus text scrape lists in fabric_device_info, as "card0 as
// u280"; empty for untimed or real cards and for text without that metric.
std::vector<std::string> EmulatedCards(const std::string& metrics_text);

// GET `base_url`/metrics and return its EmulatedCards; empty where the server has no such
// endpoint (another server than Fabric). Blocking.
std::vector<std::string> FetchEmulatedCards(const std::string& base_url, double timeout_s);

}  // namespace fabric::bench

#endif  // FABRIC_BENCH_LOAD_GENERATOR_SERVER_PROBE_H_
