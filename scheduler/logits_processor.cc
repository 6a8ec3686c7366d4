#include "scheduler/logits_processor.h"

#include <algorithm>
#include <cmath>

namespace fabric {
namespace {

// log(sum(exp(logits))), computed stably.
double LogSumExp(std::span<const float> logits) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
  return max + std::log(sum);
}

}  // namespace

LogitsProcessor::LogitsProcessor(float presence_penalty, float frequency_penalty)
    : presence_(presence_penalty), frequency_(frequency_penalty) {}

void LogitsProcessor::Apply(std::span<float> logits) const {
  if (presence_ == 0 && frequency_ == 0) return;
  for (const auto& [token, count] : counts_) {
    logits[token] -= presence_ + frequency_ * static_cast<float>(count);
  }
}

float LogitsProcessor::Logprob(std::span<const float> logits, int token) {
  return static_cast<float>(logits[token] - LogSumExp(logits));
}

std::vector<TokenLogprob> LogitsProcessor::TopLogprobs(std::span<const float> logits, int k) {
  const double log_total = LogSumExp(logits);
  std::vector<int> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>(i);
  k = std::min<int>(k, static_cast<int>(ids.size()));
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int a, int b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  std::vector<TokenLogprob> top(k);
  for (int i = 0; i < k; ++i) {
    top[i] = {ids[i], static_cast<float>(logits[ids[i]] - log_total)};
  }
  return top;
}

}  // namespace fabric
