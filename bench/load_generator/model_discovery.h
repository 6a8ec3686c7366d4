// Asks an OpenAI-compatible server which model it serves.
#ifndef FABRIC_BENCH_LOAD_GENERATOR_MODEL_DISCOVERY_H_
#define FABRIC_BENCH_LOAD_GENERATOR_MODEL_DISCOVERY_H_

#include <string>

#include "absl/status/statusor.h"

namespace fabric::bench {

// GET `base_url`/v1/models and return the first model's id. Blocking.
absl::StatusOr<std::string> FetchFirstModelId(const std::string& base_url, double timeout_s);

}  // namespace fabric::bench

#endif  // FABRIC_BENCH_LOAD_GENERATOR_MODEL_DISCOVERY_H_
