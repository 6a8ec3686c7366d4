#include "server/inference_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "scheduler/utf8_stream.h"

namespace fabric {
namespace {

constexpr int kMaxChoices = 16;
constexpr int kMaxStops = 4;
constexpr int kMaxTopLogprobs = 20;

// Gathers the choices of one call and reports to the sink; its observers run on the
// scheduler thread, the mutex guards against a Submit failing on the caller's thread.
class CallAggregator : public std::enable_shared_from_this<CallAggregator> {
 public:
  CallAggregator(const InferenceService& service, CompletionCall call,
                 std::shared_ptr<CompletionSink> sink)
      : service_(service),
        stream_(call.stream),
        want_logprobs_(call.generation.top_logprobs >= 0),
        echo_(std::move(call.echo_text)),
        sink_(std::move(sink)) {
    result_.choices.resize(call.n);
    result_.prompt_tokens = static_cast<int>(call.prompt_tokens.size());
    for (int i = 0; i < call.n; ++i) {
      result_.choices[i].index = i;
      result_.choices[i].text = echo_;
    }
    remaining_ = call.n;
  }

  std::shared_ptr<RequestObserver> ObserverFor(int index);
  // Ends the call with `status` when a choice could not be submitted.
  void FailSubmission(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (!error_.ok()) return;
    error_ = status;
    failed_on_submit_ = true;
  }

 private:
  class ChoiceObserver;

  void OnToken(int index, const TokenOutput& output) {
    absl::MutexLock lock(&mu_);
    ChoiceResult& choice = result_.choices[index];
    TokenInfo info;
    if (want_logprobs_) {
      info.token = service_.TokenText(output.token);
      info.logprob = output.logprob;
      for (const TokenLogprob& top : output.top_logprobs) {
        info.top_logprobs.emplace_back(service_.TokenText(top.token), top.logprob);
      }
      choice.logprobs.push_back(info);
    }
    choice.text += output.text;
    ++result_.completion_tokens;
    if (stream_ && !failed_on_submit_) {
      ChoiceDelta delta{index, output.text, {}};
      if (want_logprobs_) delta.logprobs.push_back(std::move(info));
      if (!delta.text.empty() || !delta.logprobs.empty()) sink_->OnDelta(delta);
    }
  }

  void OnFinish(int index, const FinishInfo& finish) {
    absl::MutexLock lock(&mu_);
    ChoiceResult& choice = result_.choices[index];
    choice.text += finish.text;
    if (stream_ && !finish.text.empty() && !failed_on_submit_) {
      sink_->OnDelta(ChoiceDelta{index, finish.text, {}});
    }
    choice.finish_reason = std::string(FinishReasonName(finish.reason));
    if ((finish.reason == FinishReason::kCancelled || finish.reason == FinishReason::kError) &&
        error_.ok()) {
      error_ = finish.status.ok() ? absl::InternalError("generation failed") : finish.status;
    }
    if (--remaining_ > 0) return;
    if (error_.ok()) {
      sink_->OnComplete(result_);
    } else {
      sink_->OnError(error_);
    }
  }

  const InferenceService& service_;
  const bool stream_;
  const bool want_logprobs_;
  const std::string echo_;
  std::shared_ptr<CompletionSink> sink_;
  absl::Mutex mu_;
  CompletionResult result_ ABSL_GUARDED_BY(mu_);
  int remaining_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool failed_on_submit_ ABSL_GUARDED_BY(mu_) = false;
};

class CallAggregator::ChoiceObserver : public RequestObserver {
 public:
  ChoiceObserver(std::shared_ptr<CallAggregator> call, int index)
      : call_(std::move(call)), index_(index) {}
  void OnToken(const TokenOutput& output) override { call_->OnToken(index_, output); }
  void OnFinish(const FinishInfo& finish) override { call_->OnFinish(index_, finish); }

 private:
  std::shared_ptr<CallAggregator> call_;
  int index_;
};

std::shared_ptr<RequestObserver> CallAggregator::ObserverFor(int index) {
  return std::make_shared<ChoiceObserver>(shared_from_this(), index);
}

absl::Status CheckParameters(const CompletionCall& call) {
  const GenerationRequest& g = call.generation;
  if (call.n < 1 || call.n > kMaxChoices) {
    return absl::InvalidArgumentError(absl::StrCat("n must be between 1 and ", kMaxChoices));
  }
  if (g.max_tokens < 1) return absl::InvalidArgumentError("max_tokens must be at least 1");
  if (g.sampling.temperature < 0 || g.sampling.temperature > 2) {
    return absl::InvalidArgumentError("temperature must be between 0 and 2");
  }
  if (!(g.sampling.top_p > 0 && g.sampling.top_p <= 1)) {
    return absl::InvalidArgumentError("top_p must be in (0, 1]");
  }
  if (g.sampling.top_k < 0) return absl::InvalidArgumentError("top_k must not be negative");
  if (g.presence_penalty < -2 || g.presence_penalty > 2) {
    return absl::InvalidArgumentError("presence_penalty must be between -2 and 2");
  }
  if (g.frequency_penalty < -2 || g.frequency_penalty > 2) {
    return absl::InvalidArgumentError("frequency_penalty must be between -2 and 2");
  }
  if (static_cast<int>(g.stop.size()) > kMaxStops) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxStops, " stop sequences"));
  }
  if (g.top_logprobs > kMaxTopLogprobs) {
    return absl::InvalidArgumentError(
        absl::StrCat("logprobs / top_logprobs must be at most ", kMaxTopLogprobs));
  }
  return absl::OkStatus();
}

}  // namespace

void CallHandle::Cancel() {
  for (const auto& handle : handles_) handle->Cancel();
}

InferenceService::InferenceService(ServedModelInfo model, Engine& engine,
                                   const Tokenizer& tokenizer, std::function<bool()> ready)
    : model_(std::move(model)), engine_(engine), tokenizer_(tokenizer), ready_(std::move(ready)) {}

bool InferenceService::Ready() const { return ready_(); }

absl::Status InferenceService::CheckModel(const std::string& name) const {
  if (name == model_.id) return absl::OkStatus();
  return absl::NotFoundError(
      absl::StrCat("The model '", name, "' does not exist; this server serves '", model_.id,
                   "'"));
}

std::vector<int> InferenceService::EncodePrompt(const std::string& text) const {
  return tokenizer_.Encode(text, tokenizer_.vocabulary().add_bos);
}

absl::StatusOr<std::vector<int>> InferenceService::PromptFromTokens(
    const std::vector<int>& tokens) const {
  for (int token : tokens) {
    if (token < 0 || token >= tokenizer_.vocabulary().size()) {
      return absl::InvalidArgumentError(absl::StrCat("prompt token ", token, " is outside the ",
                                                     tokenizer_.vocabulary().size(),
                                                     "-token vocabulary"));
    }
  }
  return tokens;
}

std::vector<int> InferenceService::EncodeChat(const std::vector<ChatTurn>& turns) const {
  return fabric::EncodeChat(model_.chat_format, turns, tokenizer_);
}

std::string InferenceService::TokenText(int token) const {
  return SanitizeUtf8(tokenizer_.Decode(-1, token));
}

absl::StatusOr<std::shared_ptr<CallHandle>> InferenceService::Complete(
    CompletionCall call, std::shared_ptr<CompletionSink> sink) {
  if (!Ready()) return absl::UnavailableError("the model is not ready: a card is down");
  if (absl::Status status = CheckModel(call.model); !status.ok()) return status;
  if (absl::Status status = CheckParameters(call); !status.ok()) return status;
  if (call.prompt_tokens.empty()) {
    return absl::InvalidArgumentError("the prompt is empty and the model adds no BOS token");
  }
  // Room for at least one token; then max_tokens is capped at the context.
  const int room = model_.context_length - static_cast<int>(call.prompt_tokens.size());
  if (room < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "This model's maximum context length is ", model_.context_length,
        " tokens. However, your prompt has ", call.prompt_tokens.size(), " tokens."));
  }
  call.generation.max_tokens = std::min(call.generation.max_tokens, room);
  call.generation.prompt_tokens = call.prompt_tokens;
  const int n = call.n;
  GenerationRequest generation = call.generation;
  auto aggregator = std::make_shared<CallAggregator>(*this, std::move(call), std::move(sink));
  auto handle = std::make_shared<CallHandle>();
  for (int i = 0; i < n; ++i) {
    GenerationRequest choice = generation;
    choice.sampling.seed = generation.sampling.seed + static_cast<uint64_t>(i);
    absl::StatusOr<std::shared_ptr<RequestHandle>> submitted =
        engine_.Submit(std::move(choice), aggregator->ObserverFor(i));
    if (!submitted.ok()) {
      aggregator->FailSubmission(submitted.status());
      handle->Cancel();  // the choices already queued end as cancelled
      return submitted.status();
    }
    handle->handles_.push_back(*std::move(submitted));
  }
  return handle;
}

}  // namespace fabric
