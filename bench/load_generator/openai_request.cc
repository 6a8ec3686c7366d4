#include "bench/load_generator/openai_request.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace fabric::bench {

using nlohmann::json;

absl::StatusOr<Api> ParseApi(absl::string_view name) {
  if (name == "completions") return Api::kCompletions;
  if (name == "chat") return Api::kChat;
  return absl::InvalidArgumentError(
      absl::StrCat("--endpoint must be completions or chat, not '", name, "'"));
}

const char* ApiPath(Api api) {
  return api == Api::kCompletions ? "/v1/completions" : "/v1/chat/completions";
}

std::string StreamingRequestBody(Api api, const std::string& model, const Prompt& prompt,
                                 int max_tokens) {
  // As `vllm bench serve` asks: greedy, streamed, usage in the final chunk. The OpenAI API has
  // no ignore_eos, so a request may end before max_tokens; the report counts what arrived.
  json body = {{"model", model},
               {"temperature", 0.0},
               {"max_tokens", max_tokens},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}}};
  if (api == Api::kCompletions) {
    if (prompt.token_ids.empty()) {
      body["prompt"] = prompt.text;
    } else {
      body["prompt"] = prompt.token_ids;
    }
  } else {
    body["messages"] = json::array({{{"role", "user"}, {"content", prompt.text}}});
    body["max_completion_tokens"] = max_tokens;  // the newer name; max_tokens for older servers
  }
  return body.dump();
}

absl::StatusOr<std::string> FirstModelId(absl::string_view models_json) {
  json parsed = json::parse(models_json.begin(), models_json.end(), nullptr, false);
  if (parsed.is_object() && parsed.contains("data") && parsed["data"].is_array() &&
      !parsed["data"].empty() && parsed["data"][0].is_object() &&
      parsed["data"][0].contains("id") && parsed["data"][0]["id"].is_string()) {
    return parsed["data"][0]["id"].get<std::string>();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("GET /v1/models returned no model id: ", models_json.substr(0, 200)));
}

}  // namespace fabric::bench
