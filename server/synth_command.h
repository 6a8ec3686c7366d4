// `fabric synth`: writes a random-weight Llama GGUF of a named shape.
#ifndef FABRIC_SERVER_SYNTH_COMMAND_H_
#define FABRIC_SERVER_SYNTH_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fabric {

absl::Status RunSynthCommand(const std::vector<std::string>& args);

}  // namespace fabric

#endif  // FABRIC_SERVER_SYNTH_COMMAND_H_
