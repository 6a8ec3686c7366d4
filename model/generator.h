// Generates text for one prompt at a time on a LlamaProgram: prefill, then decode and sample.
#ifndef FABRIC_MODEL_GENERATOR_H_
#define FABRIC_MODEL_GENERATOR_H_

#include <functional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/finish_reason.h"
#include "model/kv_block_allocator.h"
#include "model/llama_program.h"
#include "model/sampler.h"
#include "model/tokenizer.h"

namespace fabric {

struct GenerationResult {
  std::vector<int> prompt_tokens;  // BOS first
  std::vector<int> tokens;         // generated, without the end-of-text token
  FinishReason finish_reason = FinishReason::kLength;
  double prefill_seconds = 0;
  double decode_seconds = 0;       // from the first generated token to the last
};

// Called with each generated token and the text it adds.
using TokenCallback = std::function<void(int token, std::string_view text)>;

// Drives one sequence at a time. Not thread-safe.
class Generator {
 public:
  Generator(LlamaProgram& program, const Tokenizer& tokenizer);

  // Generates up to `max_tokens` tokens after `prompt` (encoded with BOS). Stops early at
  // end of text (EOS, or BOS, which starts a new document) or at the context length.
  absl::StatusOr<GenerationResult> Generate(std::string_view prompt, int max_tokens,
                                            const SamplingParams& sampling,
                                            const TokenCallback& on_token = nullptr);
  // As Generate, from token ids; also returns every step's logits when `logits` is set.
  absl::StatusOr<GenerationResult> GenerateTokens(std::vector<int> prompt_tokens, int max_tokens,
                                                  const SamplingParams& sampling,
                                                  const TokenCallback& on_token = nullptr,
                                                  std::vector<std::vector<float>>* logits = nullptr);

 private:
  LlamaProgram& program_;
  const Tokenizer& tokenizer_;
  KvBlockAllocator blocks_;
};

}  // namespace fabric

#endif  // FABRIC_MODEL_GENERATOR_H_
