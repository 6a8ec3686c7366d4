// `fabric serve`: the daemon.
#ifndef FABRIC_SERVER_SERVE_COMMAND_H_
#define FABRIC_SERVER_SERVE_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fabric {

// Serves until SIGTERM or SIGINT, then drains and returns OK.
absl::Status RunServeCommand(const std::vector<std::string>& args);

}  // namespace fabric

#endif  // FABRIC_SERVER_SERVE_COMMAND_H_
