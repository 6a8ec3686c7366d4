// The one serving core both transports call (the TensorFlow Serving pattern): it validates a
// request, builds its prompt, submits its choices to the scheduler and gathers their results.
// It speaks absl::Status; the REST and gRPC adapters turn that into HTTP and gRPC errors.
#ifndef FABRIC_SERVER_INFERENCE_SERVICE_H_
#define FABRIC_SERVER_INFERENCE_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/chat_template.h"
#include "model/tokenizer.h"
#include "scheduler/engine.h"

namespace fabric {

struct TokenInfo {
  std::string token;  // the token's text
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top_logprobs;
};

// New text of one choice, for streaming.
struct ChoiceDelta {
  int index = 0;
  std::string text;
  std::vector<TokenInfo> logprobs;  // one per token this delta covers, when asked for
};

struct ChoiceResult {
  int index = 0;
  std::string text;
  std::string finish_reason;  // "stop" or "length"
  std::vector<TokenInfo> logprobs;
};

struct CompletionResult {
  std::vector<ChoiceResult> choices;
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

// Receives one call's results on the scheduler thread; must not block.
class CompletionSink {
 public:
  virtual ~CompletionSink() = default;
  virtual void OnDelta(const ChoiceDelta& delta) = 0;  // only for streaming calls
  // Exactly one of these ends the call.
  virtual void OnComplete(const CompletionResult& result) = 0;
  virtual void OnError(const absl::Status& status) = 0;
};

// A call: the prompt and what to do with it. Transports fill it from their requests.
struct CompletionCall {
  std::string model;
  std::vector<int> prompt_tokens;
  std::string echo_text;  // prepended to every choice's text (completions' echo)
  int n = 1;
  bool stream = false;
  GenerationRequest generation;  // prompt_tokens is filled in from above
};

// Cancels every choice of a call; safe from any thread.
class CallHandle {
 public:
  void Cancel();

 private:
  friend class InferenceService;
  std::vector<std::shared_ptr<RequestHandle>> handles_;
};

struct ServedModelInfo {
  std::string id;
  int64_t created = 0;  // unix seconds when it was loaded
  int context_length = 0;
  ChatFormat chat_format = ChatFormat::kPlain;
};

// Thread-safe. The engine and tokenizer must outlive it.
class InferenceService {
 public:
  // `ready` says whether every card is up; it is asked on each readiness check.
  InferenceService(ServedModelInfo model, Engine& engine, const Tokenizer& tokenizer,
                   std::function<bool()> ready);

  const ServedModelInfo& model() const { return model_; }
  bool Ready() const;

  // NotFound for a model this server does not serve.
  absl::Status CheckModel(const std::string& name) const;
  std::vector<int> EncodePrompt(const std::string& text) const;
  // InvalidArgument for ids outside the vocabulary.
  absl::StatusOr<std::vector<int>> PromptFromTokens(const std::vector<int>& tokens) const;
  // The chat prompt and the stop sequences its format implies.
  std::vector<int> EncodeChat(const std::vector<ChatTurn>& turns) const;
  std::vector<std::string> ChatStops() const { return ChatStopSequences(model_.chat_format); }

  // Checks parameters, submits the call's choices and returns at once; `sink` hears the rest.
  // Errors: InvalidArgument (bad parameters, prompt too long), ResourceExhausted (queue
  // full), Unavailable (not ready, or shutting down).
  absl::StatusOr<std::shared_ptr<CallHandle>> Complete(CompletionCall call,
                                                       std::shared_ptr<CompletionSink> sink);

  std::string TokenText(int token) const;

 private:
  ServedModelInfo model_;
  Engine& engine_;
  const Tokenizer& tokenizer_;
  std::function<bool()> ready_;
};

}  // namespace fabric

#endif  // FABRIC_SERVER_INFERENCE_SERVICE_H_
