// `fabric xclbin`: what a Fabric bitstream declares for a platform and profile, from the
// kernel-signature and platform tables: the xclbin metadata file (what the no-op shim loads
// and real bitstreams are checked against), the v++ connectivity, or the kernel list that
// kernels/hw/Makefile compiles.
#ifndef FABRIC_SERVER_XCLBIN_COMMAND_H_
#define FABRIC_SERVER_XCLBIN_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fabric {

absl::Status RunXclbinCommand(const std::vector<std::string>& args);

}  // namespace fabric

#endif  // FABRIC_SERVER_XCLBIN_COMMAND_H_
