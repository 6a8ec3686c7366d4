// Checks the kernels an xclbin declares against kernels/kernel_signatures.h, so a bitstream
// built from other sources than this build's is refused at load with an error naming the kernel
// and the argument, instead of computing garbage.
//
// Works on a plain description of the xclbin's kernels (XrtDevice extracts it with XRT), so it
// has no XRT types. Stateless functions: thread-safe.
#ifndef FABRIC_DEVICE_XRT_INTERFACE_CHECK_H_
#define FABRIC_DEVICE_XRT_INTERFACE_CHECK_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/kernel_signatures.h"

namespace fabric {

// An argument as the xclbin's metadata declares it.
struct DeclaredArg {
  std::string name;
  std::string host_type;  // e.g. "float*", "int", "float"
  std::string port;       // e.g. "M_AXI_GMEM_W", "S_AXI_CONTROL"
};

struct DeclaredKernel {
  std::string name;
  std::vector<DeclaredArg> args;  // in argument-index order
};

// The kind of a declared argument: a pointer is a buffer, "float" a float, a 32-bit integer
// type ("int", "unsigned int", "int32_t", "uint32_t") an int; nullopt for anything else.
std::optional<ArgKind> DeclaredKind(const DeclaredArg& arg);

// Checks every declared kernel that the signature table knows: the same arguments (count,
// order, names), of the same kinds, buffers on the port of their bundle ("M_AXI_" + bundle, in
// any case). Kernels the table does not know are ignored. Returns the names of the checked
// kernels in kKernelSpecs order; FailedPrecondition naming `source` (the card and the xclbin),
// the kernel and the argument at the first disagreement.
absl::StatusOr<std::vector<std::string>> CheckInterface(std::string_view source,
                                                        const std::vector<DeclaredKernel>& kernels);

}  // namespace fabric

#endif  // FABRIC_DEVICE_XRT_INTERFACE_CHECK_H_
