// The OpenAI request bodies the load generator sends, and the model list it reads.
#ifndef FABRIC_BENCH_LOAD_GENERATOR_OPENAI_REQUEST_H_
#define FABRIC_BENCH_LOAD_GENERATOR_OPENAI_REQUEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fabric::bench {

enum class Api { kCompletions, kChat };

// "completions" or "chat".
absl::StatusOr<Api> ParseApi(absl::string_view name);
// "/v1/completions" or "/v1/chat/completions".
const char* ApiPath(Api api);

// A prompt: token ids (completions send them as `prompt: [ids]`) or, when there are none, text
// (chat always sends text, as the one user message's content).
struct Prompt {
  std::vector<int> token_ids;
  std::string text;
};

// A streamed, greedy request asking for usage in the last chunk: `prompt` for completions,
// one user message for chat.
std::string StreamingRequestBody(Api api, const std::string& model, const Prompt& prompt,
                                 int max_tokens);

// The first model id of a GET /v1/models response.
absl::StatusOr<std::string> FirstModelId(absl::string_view models_json);

}  // namespace fabric::bench

#endif  // FABRIC_BENCH_LOAD_GENERATOR_OPENAI_REQUEST_H_
