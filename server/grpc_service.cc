#include "server/grpc_service.h"

#include <deque>
#include <optional>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace fabric {
namespace {

// absl and gRPC share the canonical status codes.
grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// Sampling options with OpenAI's defaults.
absl::Status FillGeneration(const v1::SamplingOptions& s, int default_max_tokens,
                            CompletionCall& call) {
  GenerationRequest& g = call.generation;
  g.max_tokens = s.has_max_tokens() ? s.max_tokens() : default_max_tokens;
  g.sampling.temperature = s.has_temperature() ? s.temperature() : 1.0f;
  g.sampling.top_p = s.has_top_p() ? s.top_p() : 1.0f;
  g.sampling.top_k = s.has_top_k() ? s.top_k() : 0;
  g.sampling.seed = s.has_seed() ? s.seed() : static_cast<uint64_t>(absl::GetCurrentTimeNanos());
  g.stop.assign(s.stop().begin(), s.stop().end());
  call.n = s.has_n() ? s.n() : 1;
  g.presence_penalty = s.has_presence_penalty() ? s.presence_penalty() : 0.0f;
  g.frequency_penalty = s.has_frequency_penalty() ? s.frequency_penalty() : 0.0f;
  g.top_logprobs = s.has_logprobs() ? s.logprobs() : -1;
  if (g.top_logprobs > 5) return absl::InvalidArgumentError("'logprobs' must be between 0 and 5");
  return absl::OkStatus();
}

void FillLogprobs(const std::vector<TokenInfo>& infos,
                  google::protobuf::RepeatedPtrField<v1::TokenLogprob>* out) {
  for (const TokenInfo& info : infos) {
    v1::TokenLogprob* entry = out->Add();
    entry->set_token(info.token);
    entry->set_logprob(info.logprob);
    for (const auto& [text, logprob] : info.top_logprobs) {
      v1::TopLogprob* top = entry->add_top_logprobs();
      top->set_token(text);
      top->set_logprob(logprob);
    }
  }
}

void FillUsage(const CompletionResult& result, v1::Usage* usage) {
  usage->set_prompt_tokens(result.prompt_tokens);
  usage->set_completion_tokens(result.completion_tokens);
  usage->set_total_tokens(result.prompt_tokens + result.completion_tokens);
}

// Queues a call's events for the RPC thread, which blocks on them.
class QueueSink : public CompletionSink {
 public:
  using Event = std::variant<ChoiceDelta, CompletionResult, absl::Status>;

  void OnDelta(const ChoiceDelta& delta) override { Push(delta); }
  void OnComplete(const CompletionResult& result) override { Push(result); }
  void OnError(const absl::Status& status) override { Push(status); }

  // The next event, or nothing if none came within `timeout`.
  std::optional<Event> Next(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !events_.empty(); };
    if (!mu_.AwaitWithTimeout(absl::Condition(&ready), timeout)) return std::nullopt;
    Event event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

 private:
  void Push(Event event) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
  }

  absl::Mutex mu_;
  std::deque<Event> events_ ABSL_GUARDED_BY(mu_);
};

// Submits `call` and feeds its events to `on_delta` until it ends; cancels the call when the
// client goes away. Returns the final result or the error.
absl::StatusOr<CompletionResult> Run(InferenceService& service, grpc::ServerContext* context,
                                     CompletionCall call,
                                     const std::function<bool(const ChoiceDelta&)>& on_delta) {
  const absl::Time client_deadline = absl::FromChrono(context->deadline());
  call.generation.deadline = std::min(call.generation.deadline, client_deadline);
  auto sink = std::make_shared<QueueSink>();
  absl::StatusOr<std::shared_ptr<CallHandle>> handle = service.Complete(std::move(call), sink);
  if (!handle.ok()) return handle.status();
  for (;;) {
    std::optional<QueueSink::Event> event = sink->Next(absl::Milliseconds(50));
    if (!event.has_value()) {
      if (context->IsCancelled()) (*handle)->Cancel();  // the scheduler ends it at once
      continue;
    }
    if (auto* delta = std::get_if<ChoiceDelta>(&*event)) {
      if (!on_delta(*delta)) (*handle)->Cancel();  // the stream broke
    } else if (auto* result = std::get_if<CompletionResult>(&*event)) {
      return std::move(*result);
    } else {
      return std::get<absl::Status>(*event);
    }
  }
}

absl::StatusOr<CompletionCall> CallFrom(const InferenceService& service,
                                        const v1::CompletionRequest& request) {
  CompletionCall call;
  call.model = request.model();
  if (absl::Status s = FillGeneration(request.sampling(), 16, call); !s.ok()) return s;
  if (request.has_prompt_tokens()) {
    std::vector<int> tokens(request.prompt_tokens().tokens().begin(),
                            request.prompt_tokens().tokens().end());
    absl::StatusOr<std::vector<int>> checked = service.PromptFromTokens(tokens);
    if (!checked.ok()) return checked.status();
    call.prompt_tokens = *std::move(checked);
    if (request.echo()) {
      for (int token : call.prompt_tokens) call.echo_text += service.TokenText(token);
    }
  } else {
    call.prompt_tokens = service.EncodePrompt(request.prompt());
    if (request.echo()) call.echo_text = request.prompt();
  }
  return call;
}

absl::StatusOr<CompletionCall> CallFrom(const InferenceService& service,
                                        const v1::ChatCompletionRequest& request) {
  CompletionCall call;
  call.model = request.model();
  if (absl::Status s = FillGeneration(request.sampling(), 1 << 30, call); !s.ok()) return s;
  call.generation.top_logprobs =
      request.logprobs() ? (request.has_top_logprobs() ? request.top_logprobs() : 0) : -1;
  if (request.messages().empty()) {
    return absl::InvalidArgumentError("'messages' must be a non-empty array");
  }
  std::vector<ChatTurn> turns;
  for (const v1::ChatMessage& message : request.messages()) {
    turns.push_back({message.role(), message.content()});
  }
  call.prompt_tokens = service.EncodeChat(turns);
  for (std::string& stop : service.ChatStops()) call.generation.stop.push_back(std::move(stop));
  return call;
}

template <typename Response>
void FillHeader(Response* response, const std::string& object, const std::string& model) {
  static std::atomic<uint64_t> counter{0};
  response->set_id(absl::StrCat(object == "text_completion" ? "cmpl-" : "chatcmpl-",
                                absl::Hex(absl::GetCurrentTimeNanos()), "-", ++counter));
  response->set_object(object);
  response->set_created(absl::ToUnixSeconds(absl::Now()));
  response->set_model(model);
}

}  // namespace

template <typename Request>
absl::StatusOr<CompletionResult> GrpcInferenceService::Generate(grpc::ServerContext* context,
                                                                const Request& request,
                                                                const DeltaWriter& on_delta) {
  absl::StatusOr<CompletionCall> call = CallFrom(service_, request);
  if (!call.ok()) return call.status();
  call->stream = on_delta != nullptr;
  call->generation.deadline = absl::Now() + request_timeout_;
  return Run(service_, context, *std::move(call),
             on_delta ? on_delta : [](const ChoiceDelta&) { return true; });
}

GrpcInferenceService::GrpcInferenceService(InferenceService& service,
                                           absl::Duration request_timeout)
    : service_(service), request_timeout_(request_timeout) {}

grpc::Status GrpcInferenceService::Complete(grpc::ServerContext* context,
                                            const v1::CompletionRequest* request,
                                            v1::CompletionResponse* response) {
  absl::StatusOr<CompletionResult> result = Generate(context, *request, nullptr);
  if (!result.ok()) return ToGrpc(result.status());
  FillHeader(response, "text_completion", request->model());
  for (const ChoiceResult& choice : result->choices) {
    v1::CompletionChoice* out = response->add_choices();
    out->set_index(choice.index);
    out->set_text(choice.text);
    out->set_finish_reason(choice.finish_reason);
    FillLogprobs(choice.logprobs, out->mutable_logprobs());
  }
  FillUsage(*result, response->mutable_usage());
  return grpc::Status::OK;
}

grpc::Status GrpcInferenceService::CompleteStream(
    grpc::ServerContext* context, const v1::CompletionRequest* request,
    grpc::ServerWriter<v1::CompletionResponse>* writer) {
  v1::CompletionResponse header;
  FillHeader(&header, "text_completion", request->model());
  absl::StatusOr<CompletionResult> result =
      Generate(context, *request, [&](const ChoiceDelta& delta) {
        v1::CompletionResponse chunk = header;
        v1::CompletionChoice* choice = chunk.add_choices();
        choice->set_index(delta.index);
        choice->set_text(delta.text);
        FillLogprobs(delta.logprobs, choice->mutable_logprobs());
        return writer->Write(chunk);
      });
  if (!result.ok()) return ToGrpc(result.status());
  v1::CompletionResponse last = header;
  for (const ChoiceResult& choice : result->choices) {
    v1::CompletionChoice* out = last.add_choices();
    out->set_index(choice.index);
    out->set_finish_reason(choice.finish_reason);
  }
  if (request->stream_options().include_usage()) FillUsage(*result, last.mutable_usage());
  writer->Write(last);
  return grpc::Status::OK;
}

grpc::Status GrpcInferenceService::ChatComplete(grpc::ServerContext* context,
                                                const v1::ChatCompletionRequest* request,
                                                v1::ChatCompletionResponse* response) {
  absl::StatusOr<CompletionResult> result = Generate(context, *request, nullptr);
  if (!result.ok()) return ToGrpc(result.status());
  FillHeader(response, "chat.completion", request->model());
  for (const ChoiceResult& choice : result->choices) {
    v1::ChatChoice* out = response->add_choices();
    out->set_index(choice.index);
    out->mutable_message()->set_role("assistant");
    out->mutable_message()->set_content(choice.text);
    out->set_finish_reason(choice.finish_reason);
    FillLogprobs(choice.logprobs, out->mutable_logprobs());
  }
  FillUsage(*result, response->mutable_usage());
  return grpc::Status::OK;
}

grpc::Status GrpcInferenceService::ChatCompleteStream(
    grpc::ServerContext* context, const v1::ChatCompletionRequest* request,
    grpc::ServerWriter<v1::ChatCompletionChunk>* writer) {
  v1::ChatCompletionChunk header;
  FillHeader(&header, "chat.completion.chunk", request->model());
  std::vector<bool> started(std::max(request->sampling().n(), 1), false);
  absl::StatusOr<CompletionResult> result =
      Generate(context, *request, [&](const ChoiceDelta& delta) {
        v1::ChatCompletionChunk chunk = header;
        v1::ChatChunkChoice* choice = chunk.add_choices();
        choice->set_index(delta.index);
        if (!started[delta.index]) choice->mutable_delta()->set_role("assistant");
        started[delta.index] = true;
        choice->mutable_delta()->set_content(delta.text);
        FillLogprobs(delta.logprobs, choice->mutable_logprobs());
        return writer->Write(chunk);
      });
  if (!result.ok()) return ToGrpc(result.status());
  v1::ChatCompletionChunk last = header;
  for (const ChoiceResult& choice : result->choices) {
    v1::ChatChunkChoice* out = last.add_choices();
    out->set_index(choice.index);
    out->set_finish_reason(choice.finish_reason);
  }
  if (request->stream_options().include_usage()) FillUsage(*result, last.mutable_usage());
  writer->Write(last);
  return grpc::Status::OK;
}

grpc::Status GrpcInferenceService::ListModels(grpc::ServerContext*, const v1::ListModelsRequest*,
                                              v1::ListModelsResponse* response) {
  const ServedModelInfo& model = service_.model();
  v1::ModelCard* card = response->add_data();
  card->set_id(model.id);
  card->set_object("model");
  card->set_created(model.created);
  card->set_owned_by("fabric");
  card->set_context_length(model.context_length);
  return grpc::Status::OK;
}

grpc::Status GrpcInferenceService::Health(grpc::ServerContext*, const v1::HealthRequest*,
                                          v1::HealthResponse* response) {
  response->set_status(service_.Ready() ? v1::HealthResponse::SERVING
                                        : v1::HealthResponse::NOT_SERVING);
  return grpc::Status::OK;
}

}  // namespace fabric
