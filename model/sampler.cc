#include "model/sampler.h"

#include <algorithm>
#include <cmath>

namespace fabric {

Sampler::Sampler(SamplingParams params) : params_(params), state_(params.seed) {}

double Sampler::NextUniform() {
  // splitmix64: a fixed, portable generator, so a seed gives the same text everywhere.
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

int Sampler::Sample(std::span<const float> logits) {
  if (params_.temperature <= 0.0f) {
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    candidates_[i] = {std::exp((logits[i] - max_logit) / params_.temperature),
                      static_cast<int>(i)};
  }
  // Most likely first; equal probabilities keep id order so results are reproducible.
  auto more_likely = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t keep = candidates_.size();
  if (params_.top_k <= 0 && params_.top_p >= 1.0f) {
    // Nothing is cut: sample over the ids in order without sorting.
  } else if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = params_.top_k;
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(),
                      more_likely);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), more_likely);
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += candidates_[i].first;
  if (params_.top_p < 1.0f) {
    double cumulative = 0;
    for (size_t i = 0; i < keep; ++i) {
      cumulative += candidates_[i].first / total;
      if (cumulative >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
    total = 0;
    for (size_t i = 0; i < keep; ++i) total += candidates_[i].first;
  }
  const double target = NextUniform() * total;
  double cumulative = 0;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += candidates_[i].first;
    if (target < cumulative) return candidates_[i].second;
  }
  return candidates_[keep - 1].second;
}

}  // namespace fabric
