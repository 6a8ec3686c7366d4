// The OpenAI-compatible REST surface: routes HTTP requests to the InferenceService and
// writes JSON responses and Server-Sent Events.
#ifndef FABRIC_SERVER_REST_API_H_
#define FABRIC_SERVER_REST_API_H_

#include <memory>

#include "absl/time/time.h"
#include "common/metrics.h"
#include "server/http/http_server.h"
#include "server/inference_service.h"

namespace fabric {

// Thread-safe; Handle runs on the HTTP event loop and never blocks.
class RestApi {
 public:
  RestApi(InferenceService& service, MetricsRegistry& metrics, absl::Duration request_timeout);

  // POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health,
  // GET /ready, GET /metrics.
  void Handle(HttpRequest request, std::shared_ptr<HttpResponder> responder);

 private:
  void HandleCompletion(bool chat, const HttpRequest& request,
                        std::shared_ptr<HttpResponder> responder);

  InferenceService& service_;
  MetricsRegistry& metrics_;
  const absl::Duration request_timeout_;
};

}  // namespace fabric

#endif  // FABRIC_SERVER_REST_API_H_
