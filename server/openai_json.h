// OpenAI's JSON shapes: parsing request bodies into calls, and writing responses, stream
// chunks and errors. Pure functions, no I/O.
#ifndef FABRIC_SERVER_OPENAI_JSON_H_
#define FABRIC_SERVER_OPENAI_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "server/inference_service.h"

namespace fabric {

enum class Endpoint { kCompletions, kChatCompletions };

struct ParsedCall {
  CompletionCall call;
  bool include_usage = false;  // stream_options.include_usage
};

// Parses a /v1/completions or /v1/chat/completions body. InvalidArgument names the offending
// parameter ("param": in the message as `'name'`).
absl::StatusOr<ParsedCall> ParseCompletionRequest(Endpoint endpoint, const std::string& body,
                                                  const InferenceService& service);

// The response of a non-streamed call.
nlohmann::json CompletionResponseJson(Endpoint endpoint, const std::string& id, int64_t created,
                                      const std::string& model, const CompletionResult& result);
// One stream chunk carrying `delta`; the first chunk of a chat choice also carries its role.
nlohmann::json DeltaChunkJson(Endpoint endpoint, const std::string& id, int64_t created,
                              const std::string& model, const ChoiceDelta& delta,
                              bool first_of_choice);
// The chunk that ends one choice with its finish_reason.
nlohmann::json FinishChunkJson(Endpoint endpoint, const std::string& id, int64_t created,
                               const std::string& model, const ChoiceResult& choice);
// The usage-only chunk sent last when stream_options.include_usage is set.
nlohmann::json UsageChunkJson(Endpoint endpoint, const std::string& id, int64_t created,
                              const std::string& model, const CompletionResult& result);
nlohmann::json UsageJson(const CompletionResult& result);

// OpenAI's error body {"error": {"message", "type", "param", "code"}} and the HTTP status for
// an absl::Status.
int HttpStatusFor(const absl::Status& status);
nlohmann::json ErrorJson(const absl::Status& status);

}  // namespace fabric

#endif  // FABRIC_SERVER_OPENAI_JSON_H_
