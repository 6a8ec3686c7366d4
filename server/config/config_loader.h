// Reads the cluster configuration `fabric serve --config FILE` runs from: a YAML file whose
// keys are the field names of fabric.v1.ClusterConfig (proto/fabric/v1/config.proto).
//
//   cards:
//     - id: card0
//       kind: mock
//       memory_bytes: 8GiB
//   model:
//     path: models/stories260K/stories260K.bin
//     tokenizer: models/stories260K/tok512.bin
//   server:
//     http_port: 8080
//
// The YAML maps onto the schema generically (yaml_to_proto.h): a new schema field is a new
// YAML key with no code. Conversions are strict, unknown keys are errors, and every error
// names the file, the YAML line and the key path, e.g.
//   cluster.yaml:7: model.max_batch_tokens: expected an integer, got "lots"
// Fields ending in `_bytes` also take sizes with units: "16GiB", "512MiB", "8G" (binary),
// "2GB" (decimal); see ParseByteSize in scalar_parsing.h.
//
// Loading neither fills defaults nor checks values against each other: follow it with
// ApplyDefaults and ValidateClusterConfig (config_validation.h).
#ifndef FABRIC_SERVER_CONFIG_CONFIG_LOADER_H_
#define FABRIC_SERVER_CONFIG_CONFIG_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "fabric/v1/config.pb.h"

namespace fabric {

// Reads and parses the YAML file at `path`. A missing file is NotFound; an unreadable file,
// a YAML syntax error or a value that does not fit the schema is an error naming the file.
absl::StatusOr<v1::ClusterConfig> LoadClusterConfig(const std::string& path);

// Parses YAML text; `source_name` (e.g. the file name) starts every error message.
absl::StatusOr<v1::ClusterConfig> ParseClusterConfig(const std::string& yaml_text,
                                                     const std::string& source_name);

}  // namespace fabric

#endif  // FABRIC_SERVER_CONFIG_CONFIG_LOADER_H_
