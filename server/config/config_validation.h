// Defaults and consistency checks for a fabric.v1.ClusterConfig, however it was built
// (a YAML file through config_loader.h, flags, or code).
#ifndef FABRIC_SERVER_CONFIG_CONFIG_VALIDATION_H_
#define FABRIC_SERVER_CONFIG_CONFIG_VALIDATION_H_

#include <vector>

#include "absl/status/status.h"
#include "fabric/v1/config.pb.h"

namespace fabric {

// Fills every field left empty or 0 with its documented default (config.proto):
//   cards                         one mock card "card0" when no card is listed
//   cards[].kind                  "mock"
//   cards[].memory_bytes          mock cards: 8 GiB (xrt cards: left 0, the card knows its own)
//   cards[].compute_units         mock cards: the host's cores shared among the mock cards, >= 1
//   model.name                    model.path's stem: "models/x/stories260K.bin" -> "stories260K"
//   model.max_batch_tokens        256
//   model.max_sequences           8
//   model.kv_block_size           16
//   model.tensor_parallel         1
//   model.pipeline_parallel       1
//   model.kv_blocks               left 0: "max_sequences contexts" depends on the model's context
//                                 length, which is known only once the model is loaded
//   server.host                   127.0.0.1
//   server.http_port              8080
//   server.grpc_port              50051
//   server.max_waiting_requests   64
//   server.request_timeout_seconds 600
//   server.drain_timeout_seconds  30
// Values already set are kept, including ports set to 0 ("pick a free port").
void ApplyDefaults(v1::ClusterConfig* config);

// The config's card groups with their defaults filled: its own, or one unified group of every
// card when none is listed; a group's role "unified", its TP and PP the model's.
std::vector<v1::CardGroupConfig> EffectiveGroups(const v1::ClusterConfig& config);

// Checks what the schema cannot: card ids unique and non-empty; kind "mock" or "xrt" (empty
// means mock); an xrt card names its bitstream; counts, limits and timeouts not negative;
// kv_block_size a power of two; max_batch_tokens >= max_sequences; ports in 0..65535 and
// the HTTP and gRPC ports distinct; model.path given. Gives OK or InvalidArgument listing every
// problem, one per line, each naming the key path, what is wrong and what would work:
//   cards[1].kind: "fpga" is not a card kind; use "mock" (...) or "xrt" (...)
// Works before or after ApplyDefaults: a field left at 0 or empty counts as its default.
// Touches no files: whether model.path exists is for the model loader to say.
absl::Status ValidateClusterConfig(const v1::ClusterConfig& config);

}  // namespace fabric

#endif  // FABRIC_SERVER_CONFIG_CONFIG_VALIDATION_H_
