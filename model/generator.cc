#include "model/generator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace fabric {

Generator::Generator(LlamaProgram& program, const Tokenizer& tokenizer)
    : program_(program),
      tokenizer_(tokenizer),
      blocks_((program.config().context_length + program.options().kv_block_size - 1) /
                  program.options().kv_block_size,
              program.options().kv_block_size) {}

absl::StatusOr<GenerationResult> Generator::Generate(std::string_view prompt, int max_tokens,
                                                     const SamplingParams& sampling,
                                                     const TokenCallback& on_token) {
  return GenerateTokens(tokenizer_.Encode(prompt, /*add_bos=*/true), max_tokens, sampling,
                        on_token);
}

absl::StatusOr<GenerationResult> Generator::GenerateTokens(
    std::vector<int> prompt_tokens, int max_tokens, const SamplingParams& sampling,
    const TokenCallback& on_token, std::vector<std::vector<float>>* logits) {
  const ModelConfig& config = program_.config();
  const int n_prompt = static_cast<int>(prompt_tokens.size());
  if (n_prompt == 0) return absl::InvalidArgumentError("the prompt has no tokens");
  if (n_prompt > config.context_length) {
    return absl::InvalidArgumentError(absl::StrCat("the prompt has ", n_prompt,
                                                   " tokens; the context holds ",
                                                   config.context_length));
  }
  GenerationResult result;
  result.prompt_tokens = std::move(prompt_tokens);
  Batch batch;
  batch.block_tables.resize(1);
  std::vector<int>& table = batch.block_tables[0];
  // The sequence's blocks go back to the pool however this returns.
  struct ReleaseBlocks {
    KvBlockAllocator& blocks;
    std::vector<int>& table;
    ~ReleaseBlocks() { blocks.Release(table); }
  } release{blocks_, table};

  Sampler sampler(sampling);
  const int chunk = program_.options().max_batch_tokens;
  const absl::Time start = absl::Now();
  absl::Time first_token;
  std::vector<float> step_logits;
  // Prefill in chunks; only the prompt's last token needs logits.
  for (int begin = 0; begin < n_prompt; begin += chunk) {
    const int end = std::min(n_prompt, begin + chunk);
    batch.tokens.clear(), batch.positions.clear(), batch.sequences.clear();
    batch.logit_tokens.clear();
    for (int p = begin; p < end; ++p) batch.Add(result.prompt_tokens[p], p, 0, p == n_prompt - 1);
    RETURN_IF_ERROR(blocks_.Reserve(end, table));
    ASSIGN_OR_RETURN(step_logits, program_.Forward(batch));
  }
  result.prefill_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (max_tokens <= 0) return result;

  const Vocabulary& vocabulary = tokenizer_.vocabulary();
  int previous = result.prompt_tokens.back();
  for (int position = n_prompt;; ++position) {
    if (logits != nullptr) logits->push_back(step_logits);
    const int token = sampler.Sample(step_logits);
    if (token == vocabulary.eos_id || token == vocabulary.bos_id) {
      result.finish_reason = FinishReason::kStop;
      break;
    }
    if (result.tokens.empty()) first_token = absl::Now();
    result.tokens.push_back(token);
    if (on_token) on_token(token, tokenizer_.Decode(previous, token));
    previous = token;
    if (static_cast<int>(result.tokens.size()) >= max_tokens ||
        position >= config.context_length) {
      result.finish_reason = FinishReason::kLength;
      break;
    }
    batch.tokens.clear(), batch.positions.clear(), batch.sequences.clear();
    batch.logit_tokens.clear();
    batch.Add(token, position, 0, true);
    RETURN_IF_ERROR(blocks_.Reserve(position + 1, table));
    ASSIGN_OR_RETURN(step_logits, program_.Forward(batch));
  }
  if (!result.tokens.empty()) {
    result.decode_seconds = absl::ToDoubleSeconds(absl::Now() - first_token);
  }
  return result;
}

}  // namespace fabric
