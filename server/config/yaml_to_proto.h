// Maps YAML text onto any protobuf message through reflection, so a new schema field needs no
// code here.
//
// The mapping:
//   mapping   -> message; its keys are the proto field names (snake_case). A map<K, V> field
//                also takes a mapping, its keys converted to K.
//   sequence  -> repeated field (a null value is an empty list)
//   scalar    -> int32/int64/uint32/uint64 (decimal integers), float/double (finite numbers),
//                bool (true/false), string/bytes (the text as is), enum (a value name)
// Conversions are strict (see scalar_parsing.h): "12abc", "-1" for an unsigned field, 3.5 for
// an integer field and out-of-range values are errors. Integer fields whose name ends in
// "_bytes" also take sizes with units: "16GiB", "512MiB", "8G" (ParseByteSize).
//
// Every error names the source, the YAML line when known, and the key path:
//   cluster.yaml:7: model.max_batch_tokens: expected an integer, got "lots"
//   cluster.yaml:12: cards[1]: unknown key "memroy_bytes" (known: id, kind, ...)
#ifndef FABRIC_SERVER_CONFIG_YAML_TO_PROTO_H_
#define FABRIC_SERVER_CONFIG_YAML_TO_PROTO_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace fabric {

// Parses `yaml_text` (one YAML document; empty text is an empty mapping) and merges it into
// `message`: named scalar fields are overwritten, lists are appended. `source_name` (usually
// the file path) starts every error message. On error, `message` may be partly filled.
absl::Status ParseYamlIntoMessage(const std::string& yaml_text, const std::string& source_name,
                                  google::protobuf::Message* message);

}  // namespace fabric

#endif  // FABRIC_SERVER_CONFIG_YAML_TO_PROTO_H_
