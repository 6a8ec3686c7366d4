// The requests of one benchmark run, drawn from a seeded generator like `vllm bench serve`'s
// random dataset: prompt and output lengths, synthetic prompts, and Poisson arrival times.
#ifndef FABRIC_BENCH_LOAD_GENERATOR_WORKLOAD_H_
#define FABRIC_BENCH_LOAD_GENERATOR_WORKLOAD_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/load_generator/openai_request.h"

namespace fabric::bench {

struct WorkloadOptions {
  Api api = Api::kCompletions;
  std::string model;
  int num_prompts = 100;
  int input_len = 128;   // tokens (completions) or words (chat)
  int output_len = 64;   // max_tokens
  // Lengths are uniform in [len * (1 - ratio), len * (1 + ratio)]; 0 fixes them.
  double range_ratio = 0;
  double request_rate = std::numeric_limits<double>::infinity();  // requests/s
  uint64_t seed = 0;
  // Prompt token ids are uniform in [token_id_min, token_id_max]: 3..511 skips the special
  // ids of Llama-style vocabularies and fits both a 512- and a 32000-token one.
  int token_id_min = 3;
  int token_id_max = 511;
};

struct PlannedRequest {
  double arrival = 0;  // seconds after the start of the run
  int prompt_len = 0;
  int max_tokens = 0;
  std::string body;    // the JSON request
};

// Arrival offsets of `n` requests of a Poisson process at `rate` per second, in seconds: the
// first at 0, then exponential gaps of mean 1/rate. All 0 for an infinite rate. Deterministic
// for a seed (the generator is std::mt19937_64, whose output the standard fixes).
std::vector<double> PoissonArrivals(int n, double rate, uint64_t seed);

// Fails on a value out of range, naming its flag. The model is not checked.
absl::Status ValidateWorkload(const WorkloadOptions& options);

// Validates (a model name is needed too), then draws every request. The same options give the same requests.
absl::StatusOr<std::vector<PlannedRequest>> BuildWorkload(const WorkloadOptions& options);

}  // namespace fabric::bench

#endif  // FABRIC_BENCH_LOAD_GENERATOR_WORKLOAD_H_
