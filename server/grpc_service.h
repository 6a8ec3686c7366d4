// The gRPC surface (fabric.v1.Inference) over the InferenceService.
#ifndef FABRIC_SERVER_GRPC_SERVICE_H_
#define FABRIC_SERVER_GRPC_SERVICE_H_

#include <functional>

#include "absl/time/time.h"
#include "fabric/v1/inference.grpc.pb.h"
#include "server/inference_service.h"

namespace fabric {

// Thread-safe; gRPC's sync server calls it from its own thread pool.
class GrpcInferenceService final : public v1::Inference::Service {
 public:
  GrpcInferenceService(InferenceService& service, absl::Duration request_timeout);

  grpc::Status Complete(grpc::ServerContext* context, const v1::CompletionRequest* request,
                        v1::CompletionResponse* response) override;
  grpc::Status CompleteStream(grpc::ServerContext* context, const v1::CompletionRequest* request,
                              grpc::ServerWriter<v1::CompletionResponse>* writer) override;
  grpc::Status ChatComplete(grpc::ServerContext* context,
                            const v1::ChatCompletionRequest* request,
                            v1::ChatCompletionResponse* response) override;
  grpc::Status ChatCompleteStream(grpc::ServerContext* context,
                                  const v1::ChatCompletionRequest* request,
                                  grpc::ServerWriter<v1::ChatCompletionChunk>* writer) override;
  grpc::Status ListModels(grpc::ServerContext* context, const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;
  grpc::Status Health(grpc::ServerContext* context, const v1::HealthRequest* request,
                      v1::HealthResponse* response) override;

 private:
  // Writes one streamed delta; false when the client is gone.
  using DeltaWriter = std::function<bool(const ChoiceDelta&)>;
  // Runs a call for `request`, streamed through `on_delta` when it is set.
  template <typename Request>
  absl::StatusOr<CompletionResult> Generate(grpc::ServerContext* context, const Request& request,
                                            const DeltaWriter& on_delta);

  InferenceService& service_;
  const absl::Duration request_timeout_;
};

}  // namespace fabric

#endif  // FABRIC_SERVER_GRPC_SERVICE_H_
