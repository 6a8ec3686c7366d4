#include "server/openai_json.h"

#include <random>

#include "absl/strings/str_cat.h"

namespace fabric {
namespace {

using nlohmann::json;

absl::Status BadParam(const std::string& param, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat("'", param, "' ", problem));
}

// Reads optional field `key` of `body` into `out` when present and not null.
absl::Status ReadNumber(const json& body, const std::string& key, float* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number()) return BadParam(key, "must be a number");
  *out = it->get<float>();
  return absl::OkStatus();
}

absl::Status ReadInt(const json& body, const std::string& key, int* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number_integer()) return BadParam(key, "must be an integer");
  const int64_t value = it->get<int64_t>();
  if (value < -(int64_t{1} << 31) || value >= (int64_t{1} << 31)) {
    return BadParam(key, "is out of range");
  }
  *out = static_cast<int>(value);
  return absl::OkStatus();
}

absl::Status ReadBool(const json& body, const std::string& key, bool* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return BadParam(key, "must be a boolean");
  *out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status ReadStops(const json& body, std::vector<std::string>* stops) {
  auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return absl::OkStatus();
  if (it->is_string()) {
    stops->push_back(it->get<std::string>());
    return absl::OkStatus();
  }
  if (!it->is_array()) return BadParam("stop", "must be a string or an array of strings");
  for (const json& stop : *it) {
    if (!stop.is_string()) return BadParam("stop", "must be a string or an array of strings");
    stops->push_back(stop.get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status ReadSampling(const json& body, Endpoint endpoint, ParsedCall& parsed) {
  GenerationRequest& g = parsed.call.generation;
  g.max_tokens = endpoint == Endpoint::kCompletions ? 16 : 1 << 30;  // chat: up to the context
  if (absl::Status s = ReadInt(body, "max_tokens", &g.max_tokens); !s.ok()) return s;
  if (endpoint == Endpoint::kChatCompletions) {
    if (absl::Status s = ReadInt(body, "max_completion_tokens", &g.max_tokens); !s.ok()) return s;
  }
  g.sampling.temperature = 1.0f;
  for (const auto& [key, field] : {std::pair{"temperature", &g.sampling.temperature},
                                   std::pair{"top_p", &g.sampling.top_p},
                                   std::pair{"presence_penalty", &g.presence_penalty},
                                   std::pair{"frequency_penalty", &g.frequency_penalty}}) {
    if (absl::Status s = ReadNumber(body, key, field); !s.ok()) return s;
  }
  if (absl::Status s = ReadInt(body, "top_k", &g.sampling.top_k); !s.ok()) return s;
  if (absl::Status s = ReadInt(body, "n", &parsed.call.n); !s.ok()) return s;
  if (auto it = body.find("seed"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer()) return BadParam("seed", "must be an integer");
    g.sampling.seed = it->get<uint64_t>();
  } else {
    g.sampling.seed = std::random_device{}();  // unseeded requests differ, as OpenAI's do
  }
  if (absl::Status s = ReadStops(body, &g.stop); !s.ok()) return s;
  bool stream = false;
  if (absl::Status s = ReadBool(body, "stream", &stream); !s.ok()) return s;
  parsed.call.stream = stream;
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return BadParam("stream_options", "must be an object");
    if (absl::Status s = ReadBool(*it, "include_usage", &parsed.include_usage); !s.ok()) return s;
  }
  if (auto it = body.find("user"); it != body.end() && !it->is_null() && !it->is_string()) {
    return BadParam("user", "must be a string");
  }
  return absl::OkStatus();
}

absl::Status ReadPrompt(const json& body, const InferenceService& service, CompletionCall& call) {
  auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) return BadParam("prompt", "is required");
  const json* prompt = &*it;
  if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    prompt = &(*prompt)[0];  // a batch of one prompt
  }
  if (prompt->is_string()) {
    call.prompt_tokens = service.EncodePrompt(prompt->get<std::string>());
    call.echo_text = prompt->get<std::string>();
    return absl::OkStatus();
  }
  if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number_integer()) {
    std::vector<int> tokens;
    for (const json& token : *prompt) {
      if (!token.is_number_integer()) {
        return BadParam("prompt", "must be a string or an array of token ids");
      }
      tokens.push_back(token.get<int>());
    }
    absl::StatusOr<std::vector<int>> checked = service.PromptFromTokens(tokens);
    if (!checked.ok()) return checked.status();
    call.prompt_tokens = *std::move(checked);
    for (size_t i = 0; i < call.prompt_tokens.size(); ++i) {
      call.echo_text += service.TokenText(call.prompt_tokens[i]);
    }
    return absl::OkStatus();
  }
  if (prompt->is_array() && prompt->size() > 1) {
    return BadParam("prompt", "must be a single prompt; send one request per prompt");
  }
  return BadParam("prompt", "must be a string or an array of token ids");
}

absl::Status ReadMessages(const json& body, const InferenceService& service,
                          CompletionCall& call) {
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty()) {
    return BadParam("messages", "must be a non-empty array");
  }
  std::vector<ChatTurn> turns;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& message = (*it)[i];
    const std::string where = absl::StrCat("messages[", i, "]");
    if (!message.is_object()) return BadParam(where, "must be an object");
    auto role = message.find("role");
    if (role == message.end() || !role->is_string()) return BadParam(where + ".role", "is required");
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "user" && r != "assistant" && r != "developer") {
      return BadParam(where + ".role", "must be system, developer, user or assistant");
    }
    ChatTurn turn{r == "developer" ? "system" : r, ""};
    auto content = message.find("content");
    if (content == message.end() || content->is_null()) {
      return BadParam(where + ".content", "is required");
    } else if (content->is_string()) {
      turn.content = content->get<std::string>();
    } else if (content->is_array()) {
      for (const json& part : *content) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
            !part["text"].is_string()) {
          return BadParam(where + ".content", "parts must be {\"type\": \"text\", \"text\": ...}");
        }
        turn.content += part["text"].get<std::string>();
      }
    } else {
      return BadParam(where + ".content", "must be a string or an array of text parts");
    }
    turns.push_back(std::move(turn));
  }
  call.prompt_tokens = service.EncodeChat(turns);
  for (std::string& stop : service.ChatStops()) call.generation.stop.push_back(std::move(stop));
  return absl::OkStatus();
}

absl::Status ReadLogprobs(const json& body, Endpoint endpoint, GenerationRequest& g) {
  g.top_logprobs = -1;
  if (endpoint == Endpoint::kCompletions) {
    int logprobs = -1;
    if (absl::Status s = ReadInt(body, "logprobs", &logprobs); !s.ok()) return s;
    if (logprobs > 5) return BadParam("logprobs", "must be between 0 and 5");
    g.top_logprobs = logprobs;
    return absl::OkStatus();
  }
  bool logprobs = false;
  if (absl::Status s = ReadBool(body, "logprobs", &logprobs); !s.ok()) return s;
  int top = 0;
  if (absl::Status s = ReadInt(body, "top_logprobs", &top); !s.ok()) return s;
  if (top < 0 || top > 20) return BadParam("top_logprobs", "must be between 0 and 20");
  if (top > 0 && !logprobs) return BadParam("top_logprobs", "requires 'logprobs': true");
  if (logprobs) g.top_logprobs = top;
  return absl::OkStatus();
}

json CompletionLogprobs(const ChoiceResult& choice, size_t echo_bytes) {
  json tokens = json::array(), token_logprobs = json::array(), top = json::array(),
       offsets = json::array();
  size_t offset = echo_bytes;
  for (const TokenInfo& info : choice.logprobs) {
    tokens.push_back(info.token);
    token_logprobs.push_back(info.logprob);
    json alternatives = json::object();
    for (const auto& [text, logprob] : info.top_logprobs) alternatives[text] = logprob;
    top.push_back(alternatives);
    offsets.push_back(offset);
    offset += info.token.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top},
          {"text_offset", offsets}};
}

json ChatLogprobs(const std::vector<TokenInfo>& infos) {
  json content = json::array();
  for (const TokenInfo& info : infos) {
    json top = json::array();
    for (const auto& [text, logprob] : info.top_logprobs) {
      top.push_back({{"token", text}, {"logprob", logprob}, {"bytes", json::array()}});
      for (unsigned char c : text) top.back()["bytes"].push_back(c);
    }
    json bytes = json::array();
    for (unsigned char c : info.token) bytes.push_back(c);
    content.push_back(
        {{"token", info.token}, {"logprob", info.logprob}, {"bytes", bytes}, {"top_logprobs", top}});
  }
  return {{"content", content}};
}

json Envelope(Endpoint endpoint, bool chunk, const std::string& id, int64_t created,
              const std::string& model) {
  const char* object = endpoint == Endpoint::kCompletions
                           ? "text_completion"
                           : (chunk ? "chat.completion.chunk" : "chat.completion");
  return {{"id", id}, {"object", object}, {"created", created}, {"model", model},
          {"choices", json::array()}};
}

}  // namespace

absl::StatusOr<ParsedCall> ParseCompletionRequest(Endpoint endpoint, const std::string& body,
                                                  const InferenceService& service) {
  json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    return absl::InvalidArgumentError("the request body is not valid JSON");
  }
  if (!request.is_object()) return absl::InvalidArgumentError("the request body must be a JSON object");
  ParsedCall parsed;
  auto model = request.find("model");
  if (model == request.end() || !model->is_string()) return BadParam("model", "is required");
  parsed.call.model = model->get<std::string>();
  if (absl::Status s = ReadSampling(request, endpoint, parsed); !s.ok()) return s;
  if (absl::Status s = ReadLogprobs(request, endpoint, parsed.call.generation); !s.ok()) return s;
  if (endpoint == Endpoint::kCompletions) {
    if (absl::Status s = ReadPrompt(request, service, parsed.call); !s.ok()) return s;
    bool echo = false;
    if (absl::Status s = ReadBool(request, "echo", &echo); !s.ok()) return s;
    if (!echo) parsed.call.echo_text.clear();
  } else {
    if (absl::Status s = ReadMessages(request, service, parsed.call); !s.ok()) return s;
  }
  return parsed;
}

json UsageJson(const CompletionResult& result) {
  return {{"prompt_tokens", result.prompt_tokens},
          {"completion_tokens", result.completion_tokens},
          {"total_tokens", result.prompt_tokens + result.completion_tokens}};
}

json CompletionResponseJson(Endpoint endpoint, const std::string& id, int64_t created,
                            const std::string& model, const CompletionResult& result) {
  json response = Envelope(endpoint, false, id, created, model);
  for (const ChoiceResult& choice : result.choices) {
    json entry = {{"index", choice.index}, {"finish_reason", choice.finish_reason},
                  {"logprobs", nullptr}};
    const bool has_logprobs = !choice.logprobs.empty();
    if (endpoint == Endpoint::kCompletions) {
      entry["text"] = choice.text;
      if (has_logprobs) entry["logprobs"] = CompletionLogprobs(choice, 0);
    } else {
      entry["message"] = {{"role", "assistant"}, {"content", choice.text}};
      if (has_logprobs) entry["logprobs"] = ChatLogprobs(choice.logprobs);
    }
    response["choices"].push_back(entry);
  }
  response["usage"] = UsageJson(result);
  return response;
}

json DeltaChunkJson(Endpoint endpoint, const std::string& id, int64_t created,
                    const std::string& model, const ChoiceDelta& delta, bool first_of_choice) {
  json chunk = Envelope(endpoint, true, id, created, model);
  json entry = {{"index", delta.index}, {"finish_reason", nullptr}, {"logprobs", nullptr}};
  if (endpoint == Endpoint::kCompletions) {
    entry["text"] = delta.text;
    if (!delta.logprobs.empty()) {
      entry["logprobs"] = CompletionLogprobs(ChoiceResult{delta.index, "", "", delta.logprobs}, 0);
    }
  } else {
    entry["delta"] = {{"content", delta.text}};
    if (first_of_choice) entry["delta"]["role"] = "assistant";
    if (!delta.logprobs.empty()) entry["logprobs"] = ChatLogprobs(delta.logprobs);
  }
  chunk["choices"].push_back(entry);
  return chunk;
}

json FinishChunkJson(Endpoint endpoint, const std::string& id, int64_t created,
                     const std::string& model, const ChoiceResult& choice) {
  json chunk = Envelope(endpoint, true, id, created, model);
  json entry = {{"index", choice.index}, {"finish_reason", choice.finish_reason},
                {"logprobs", nullptr}};
  if (endpoint == Endpoint::kCompletions) {
    entry["text"] = "";
  } else {
    entry["delta"] = json::object();
  }
  chunk["choices"].push_back(entry);
  return chunk;
}

json UsageChunkJson(Endpoint endpoint, const std::string& id, int64_t created,
                    const std::string& model, const CompletionResult& result) {
  json chunk = Envelope(endpoint, true, id, created, model);
  chunk["usage"] = UsageJson(result);
  return chunk;
}

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

json ErrorJson(const absl::Status& status) {
  const int http = HttpStatusFor(status);
  std::string message(status.message());
  const char* type = http == 400 || http == 404 ? "invalid_request_error"
                     : http == 429             ? "rate_limit_error"
                                               : "server_error";
  json param = nullptr;
  // Messages about a parameter start with its quoted name.
  if (message.size() > 2 && message[0] == '\'') {
    const size_t end = message.find('\'', 1);
    if (end != std::string::npos) param = message.substr(1, end - 1);
  }
  json code = nullptr;
  if (http == 404) code = "model_not_found";
  if (message.find("maximum context length") != std::string::npos) code = "context_length_exceeded";
  return {{"error", {{"message", message}, {"type", type}, {"param", param}, {"code", code}}}};
}

}  // namespace fabric
