// Writes xclbin files that carry Fabric's kernel interface: the axlf container of
// /usr/include/xrt/xclbin.h with the sections XRT needs to load a bitstream and drive its
// kernels (embedded XML metadata, memory topology, IP layout, connectivity), generated from
// kernels/kernel_signatures.h (kernels, arguments, bundles), kernels/kernel_profiles.h (which
// kernels a profile offers) and device/xrt/platforms.h (banks and the bundle-to-bank rule).
// The files hold no bitstream: XRT's no-op shim loads them, a real card needs the Vitis-built
// xclbin of kernels/hw/, which carries the same metadata.
//
// Stateless functions: thread-safe.
#ifndef FABRIC_DEVICE_XRT_XCLBIN_WRITER_H_
#define FABRIC_DEVICE_XRT_XCLBIN_WRITER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "device/xrt/platforms.h"
#include "kernels/kernel_profiles.h"
#include "kernels/kernel_signatures.h"

namespace fabric {

// A kernel argument as an xclbin declares it.
struct XclbinArg {
  std::string name;
  ArgKind kind;
  std::string bundle;  // buffers: the AXI bundle, which decides the banks it connects to
};

struct XclbinKernel {
  std::string name;
  std::vector<XclbinArg> args;
  int compute_units = 1;  // instances "<name>_1", "<name>_2", ...
};

// What one xclbin declares. FabricDesign gives Fabric's own; tests alter one to produce a
// bitstream whose interface disagrees with the signature table.
struct XclbinDesign {
  const PlatformSpec* platform = nullptr;
  KernelProfile profile = KernelProfile::kUnified;
  std::vector<XclbinKernel> kernels;
};

// The design of `profile`'s bitstream on `platform`: the kernels ProfileKernels(profile) lists,
// with their arguments from kKernelSpecs, one compute unit each.
XclbinDesign FabricDesign(const PlatformSpec& platform, KernelProfile profile);

// The xclbin bytes of `design`. Deterministic: the same design gives the same bytes, and its
// UUID is derived from the design (so each platform and profile has its own, fixed UUID).
// InvalidArgument for a design XRT could not load (no platform, an empty or too long name, a
// buffer argument whose bundle has no placement rule).
absl::StatusOr<std::string> WriteXclbin(const XclbinDesign& design);

// WriteXclbin(FabricDesign(platform, profile)) for a platform named as in kPlatformSpecs.
absl::StatusOr<std::string> WriteFabricXclbin(std::string_view platform, KernelProfile profile);

// Writes `bytes` to `path`, replacing the file.
absl::Status WriteFile(const std::string& path, std::string_view bytes);

}  // namespace fabric

#endif  // FABRIC_DEVICE_XRT_XCLBIN_WRITER_H_
