#include "bench/load_generator/workload.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace fabric::bench {
namespace {

// Words that are one token in Llama's vocabulary and in the bundled 512-token one, so a chat
// prompt of N words is close to N tokens on either.
constexpr const char* kWords[] = {
    "the", "to",  "and",   "was",  "he",   "she", "her",    "it",     "in",   "day",
    "with", "said", "play", "they", "his",  "up",  "that",   "on",     "mom",  "you",
    "big",  "of",   "friend", "little", "time", "had", "we", "there", "so",   "for",
    "want", "happy", "saw", "named", "but", "very", "do",    "upon",   "Once", "Lily"};

// Uniform in [0, 1), from the top 53 bits.
double UniformUnit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1p-53; }

// Uniform in [lo, hi]; the modulo bias of a 64-bit draw over these spans is negligible.
int UniformInt(std::mt19937_64& rng, int lo, int hi) {
  return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1));
}

// vLLM's random dataset: uniform between floor(len * (1 - ratio)) and floor(len * (1 + ratio)).
int SampleLength(std::mt19937_64& rng, int len, double ratio) {
  const int lo = std::max(1, static_cast<int>(std::floor(len * (1 - ratio))));
  const int hi = std::max(lo, static_cast<int>(std::floor(len * (1 + ratio))));
  return UniformInt(rng, lo, hi);
}

Prompt DrawPrompt(std::mt19937_64& rng, const WorkloadOptions& options, int len) {
  Prompt prompt;
  if (options.api == Api::kCompletions) {
    for (int i = 0; i < len; ++i) {
      prompt.token_ids.push_back(UniformInt(rng, options.token_id_min, options.token_id_max));
    }
    return prompt;
  }
  constexpr int kWordCount = sizeof(kWords) / sizeof(kWords[0]);
  std::vector<const char*> words;
  for (int i = 0; i < len; ++i) words.push_back(kWords[UniformInt(rng, 0, kWordCount - 1)]);
  prompt.text = absl::StrJoin(words, " ");
  return prompt;
}

}  // namespace

std::vector<double> PoissonArrivals(int n, double rate, uint64_t seed) {
  std::vector<double> arrivals(std::max(n, 0), 0.0);
  if (std::isinf(rate)) return arrivals;
  std::mt19937_64 rng(seed ^ 0x9E3779B97F4A7C15ull);  // independent of the prompts' stream
  double t = 0;
  for (int i = 1; i < n; ++i) {
    t += -std::log1p(-UniformUnit(rng)) / rate;  // inverse CDF of Exp(rate)
    arrivals[i] = t;
  }
  return arrivals;
}

absl::Status ValidateWorkload(const WorkloadOptions& options) {
  auto bad = [](absl::string_view what) { return absl::InvalidArgumentError(what); };
  if (options.num_prompts < 1) return bad("--num-prompts must be at least 1");
  if (options.input_len < 1) return bad("--input-len must be at least 1");
  if (options.output_len < 1) return bad("--output-len must be at least 1");
  if (!(options.range_ratio >= 0 && options.range_ratio < 1)) {
    return bad("--random-range-ratio must be in [0, 1)");
  }
  if (!(options.request_rate > 0)) return bad("--request-rate must be positive (or inf)");
  if (options.token_id_min < 0 || options.token_id_max < options.token_id_min) {
    return bad("--token-id-range must be LO..HI with 0 <= LO <= HI");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PlannedRequest>> BuildWorkload(const WorkloadOptions& options) {
  RETURN_IF_ERROR(ValidateWorkload(options));
  if (options.model.empty()) return absl::InvalidArgumentError("the workload has no model name");
  std::mt19937_64 rng(options.seed);
  const std::vector<double> arrivals =
      PoissonArrivals(options.num_prompts, options.request_rate, options.seed);
  std::vector<PlannedRequest> requests(options.num_prompts);
  for (PlannedRequest& request : requests) {
    request.prompt_len = SampleLength(rng, options.input_len, options.range_ratio);
    request.max_tokens = SampleLength(rng, options.output_len, options.range_ratio);
  }
  for (int i = 0; i < options.num_prompts; ++i) {
    PlannedRequest& request = requests[i];
    request.arrival = arrivals[i];
    request.body = StreamingRequestBody(options.api, options.model,
                                        DrawPrompt(rng, options, request.prompt_len),
                                        request.max_tokens);
  }
  return requests;
}

}  // namespace fabric::bench
