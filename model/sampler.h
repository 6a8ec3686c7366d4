// Chooses the next token from logits: greedy, or temperature with top-k and top-p.
#ifndef FABRIC_MODEL_SAMPLER_H_
#define FABRIC_MODEL_SAMPLER_H_

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace fabric {

struct SamplingParams {
  float temperature = 1.0f;  // 0 means greedy (argmax; ties go to the lowest id)
  int top_k = 0;             // keep the k most likely tokens; 0 keeps all
  float top_p = 1.0f;        // keep the smallest set whose probability reaches top_p
  uint64_t seed = 0;         // same seed, same tokens
};

// One sequence's sampler; holds its random state. Not thread-safe.
class Sampler {
 public:
  explicit Sampler(SamplingParams params);

  int Sample(std::span<const float> logits);

 private:
  double NextUniform();  // in [0, 1)

  SamplingParams params_;
  uint64_t state_;
  std::vector<std::pair<float, int>> candidates_;  // reused scratch: (probability, id)
};

}  // namespace fabric

#endif  // FABRIC_MODEL_SAMPLER_H_
