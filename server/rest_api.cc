#include "server/rest_api.h"

#include <atomic>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/openai_json.h"

namespace fabric {
namespace {

using nlohmann::json;

constexpr char kJson[] = "application/json";

std::string NewId(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(prefix, absl::Hex(absl::GetCurrentTimeNanos()), "-", ++counter);
}

void RespondJson(HttpResponder& responder, int status, const json& body) {
  responder.Respond(status, kJson, body.dump());
}

void RespondError(HttpResponder& responder, const absl::Status& status) {
  RespondJson(responder, HttpStatusFor(status), ErrorJson(status));
}

// Metadata shared by a call's response or chunks.
struct CallInfo {
  Endpoint endpoint;
  std::string id;
  int64_t created;
  std::string model;
};

// A non-streamed call: one JSON response when every choice is done.
class JsonSink : public CompletionSink {
 public:
  JsonSink(CallInfo info, std::shared_ptr<HttpResponder> responder)
      : info_(std::move(info)), responder_(std::move(responder)) {}
  void OnDelta(const ChoiceDelta&) override {}
  void OnComplete(const CompletionResult& result) override {
    RespondJson(*responder_, 200,
                CompletionResponseJson(info_.endpoint, info_.id, info_.created, info_.model,
                                       result));
  }
  void OnError(const absl::Status& status) override { RespondError(*responder_, status); }

 private:
  const CallInfo info_;
  std::shared_ptr<HttpResponder> responder_;
};

// A streamed call: Server-Sent Events, one `data:` line a chunk, ending with [DONE].
class SseSink : public CompletionSink {
 public:
  SseSink(CallInfo info, int choices, bool include_usage,
          std::shared_ptr<HttpResponder> responder)
      : info_(std::move(info)),
        include_usage_(include_usage),
        started_(choices, false),
        responder_(std::move(responder)) {}

  // Sends the headers, then whatever the scheduler produced meanwhile.
  void Start() {
    absl::MutexLock lock(&mu_);
    responder_->StartStream(200, "text/event-stream");
    started_stream_ = true;
    for (std::string& data : held_) responder_->SendChunk(std::move(data));
    held_.clear();
    if (ended_) responder_->EndStream();
  }

  void OnDelta(const ChoiceDelta& delta) override {
    json chunk = DeltaChunkJson(info_.endpoint, info_.id, info_.created, info_.model, delta,
                                !started_[delta.index]);
    started_[delta.index] = true;
    Send(chunk);
  }
  void OnComplete(const CompletionResult& result) override {
    for (const ChoiceResult& choice : result.choices) {
      Send(FinishChunkJson(info_.endpoint, info_.id, info_.created, info_.model, choice));
    }
    if (include_usage_) {
      Send(UsageChunkJson(info_.endpoint, info_.id, info_.created, info_.model, result));
    }
    End();
  }
  void OnError(const absl::Status& status) override {
    Send(ErrorJson(status));
    End();
  }

 private:
  void Send(json chunk) {
    if (include_usage_ && !chunk.contains("usage") && !chunk.contains("error")) {
      chunk["usage"] = nullptr;  // OpenAI marks every chunk but the last
    }
    Write(absl::StrCat("data: ", chunk.dump(), "\n\n"));
  }
  void End() {
    Write("data: [DONE]\n\n");
    absl::MutexLock lock(&mu_);
    ended_ = true;
    if (started_stream_) responder_->EndStream();
  }
  void Write(std::string data) {
    absl::MutexLock lock(&mu_);
    if (started_stream_) {
      responder_->SendChunk(std::move(data));
    } else {
      held_.push_back(std::move(data));
    }
  }

  const CallInfo info_;
  const bool include_usage_;
  std::vector<bool> started_;  // touched only on the scheduler thread
  std::shared_ptr<HttpResponder> responder_;
  absl::Mutex mu_;
  bool started_stream_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> held_ ABSL_GUARDED_BY(mu_);  // chunks produced before Start
};

}  // namespace

RestApi::RestApi(InferenceService& service, MetricsRegistry& metrics,
                 absl::Duration request_timeout)
    : service_(service), metrics_(metrics), request_timeout_(request_timeout) {}

void RestApi::Handle(HttpRequest request, std::shared_ptr<HttpResponder> responder) {
  const std::string& path = request.path;
  const bool get = request.method == "GET", post = request.method == "POST";
  if (post && path == "/v1/completions") return HandleCompletion(false, request, responder);
  if (post && path == "/v1/chat/completions") return HandleCompletion(true, request, responder);
  if (get && path == "/v1/models") {
    const ServedModelInfo& model = service_.model();
    RespondJson(*responder, 200,
                {{"object", "list"},
                 {"data", json::array({{{"id", model.id},
                                        {"object", "model"},
                                        {"created", model.created},
                                        {"owned_by", "fabric"},
                                        {"max_model_len", model.context_length}}})}});
    return;
  }
  if (get && path == "/health") return RespondJson(*responder, 200, {{"status", "ok"}});
  if (get && path == "/ready") {
    const bool ready = service_.Ready();
    return RespondJson(*responder, ready ? 200 : 503,
                       {{"status", ready ? "ready" : "not ready"}});
  }
  if (get && path == "/metrics") {
    responder->Respond(200, "text/plain; version=0.0.4", metrics_.Serialize());
    return;
  }
  const bool known = path == "/v1/completions" || path == "/v1/chat/completions" ||
                     path == "/v1/models" || path == "/health" || path == "/ready" ||
                     path == "/metrics";
  if (known) {
    return RespondJson(*responder, 405,
                       ErrorJson(absl::InvalidArgumentError(
                           absl::StrCat("method ", request.method, " is not allowed on ", path))));
  }
  RespondJson(*responder, 404,
              ErrorJson(absl::NotFoundError(absl::StrCat("no route for ", request.method, " ",
                                                         path))));
}

void RestApi::HandleCompletion(bool chat, const HttpRequest& request,
                               std::shared_ptr<HttpResponder> responder) {
  const Endpoint endpoint = chat ? Endpoint::kChatCompletions : Endpoint::kCompletions;
  absl::StatusOr<ParsedCall> parsed = ParseCompletionRequest(endpoint, request.body, service_);
  if (!parsed.ok()) return RespondError(*responder, parsed.status());
  CompletionCall& call = parsed->call;
  call.generation.deadline = absl::Now() + request_timeout_;
  CallInfo info{endpoint, NewId(chat ? "chatcmpl-" : "cmpl-"), absl::ToUnixSeconds(absl::Now()),
                call.model};
  std::shared_ptr<CompletionSink> sink;
  std::shared_ptr<SseSink> stream;
  if (call.stream) {
    stream = std::make_shared<SseSink>(info, call.n, parsed->include_usage, responder);
    sink = stream;
  } else {
    sink = std::make_shared<JsonSink>(info, responder);
  }
  absl::StatusOr<std::shared_ptr<CallHandle>> handle = service_.Complete(std::move(call), sink);
  if (!handle.ok()) return RespondError(*responder, handle.status());
  if (stream) stream->Start();
  std::shared_ptr<CallHandle> call_handle = *handle;
  responder->OnClientGone([call_handle] { call_handle->Cancel(); });
}

}  // namespace fabric
