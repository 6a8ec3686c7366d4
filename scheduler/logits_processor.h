// Adjusts a sequence's logits before sampling and reports log-probabilities.
#ifndef FABRIC_SCHEDULER_LOGITS_PROCESSOR_H_
#define FABRIC_SCHEDULER_LOGITS_PROCESSOR_H_

#include <span>
#include <unordered_map>
#include <vector>

#include "scheduler/request.h"

namespace fabric {

// One per sequence; not thread-safe.
class LogitsProcessor {
 public:
  LogitsProcessor(float presence_penalty, float frequency_penalty);

  // Applies the penalties for the tokens generated so far, in place (OpenAI's definition,
  // counted over generated tokens as vLLM does).
  void Apply(std::span<float> logits) const;
  // Records a generated token.
  void Count(int token) { ++counts_[token]; }

  // log softmax(logits)[token], and the `k` most likely tokens (ties: lower id first).
  static float Logprob(std::span<const float> logits, int token);
  static std::vector<TokenLogprob> TopLogprobs(std::span<const float> logits, int k);

 private:
  float presence_;
  float frequency_;
  std::unordered_map<int, int> counts_;
};

}  // namespace fabric

#endif  // FABRIC_SCHEDULER_LOGITS_PROCESSOR_H_
