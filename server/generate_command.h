// `fabric generate`: one prompt, streamed to stdout, on one mock card.
#ifndef FABRIC_SERVER_GENERATE_COMMAND_H_
#define FABRIC_SERVER_GENERATE_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fabric {

absl::Status RunGenerateCommand(const std::vector<std::string>& args);

}  // namespace fabric

#endif  // FABRIC_SERVER_GENERATE_COMMAND_H_
