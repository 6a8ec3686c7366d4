// A running Fabric daemon: cards, the model on them, the scheduler, and the REST and gRPC
// endpoints. `fabric serve` runs one; tests start one in-process on port 0.
#ifndef FABRIC_SERVER_FABRIC_SERVER_H_
#define FABRIC_SERVER_FABRIC_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fabric/v1/config.pb.h"
#include "server/placement.h"

namespace fabric {

class ServerParts;  // everything it owns, in start-up order

// Thread-safe: Shutdown may be called from any thread (once the server is up).
class FabricServer {
 public:
  // Opens the cards, loads each instance of the model onto its group of cards
  // (model.tensor_parallel x model.pipeline_parallel cards each), and starts serving.
  // `config` must have had ApplyDefaults and ValidateClusterConfig applied.
  static absl::StatusOr<std::unique_ptr<FabricServer>> Start(const v1::ClusterConfig& config);
  ~FabricServer();

  int http_port() const;
  int grpc_port() const;
  const std::string& model_id() const;
  // Which card holds which shard of which instance.
  const std::vector<CardPlacement>& placement() const;

  // Graceful: stop accepting connections, let in-flight requests finish for up to
  // `drain_timeout_seconds`, cancel the rest, then close everything.
  void Shutdown();

 private:
  explicit FabricServer(std::unique_ptr<ServerParts> parts);
  std::unique_ptr<ServerParts> parts_;
};

}  // namespace fabric

#endif  // FABRIC_SERVER_FABRIC_SERVER_H_
