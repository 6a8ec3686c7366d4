// Points XRT at its no-op shim for a test process, so the XRT tests need no outside setup.
#ifndef FABRIC_TESTS_DEVICE_XRT_NOOP_ENVIRONMENT_H_
#define FABRIC_TESTS_DEVICE_XRT_NOOP_ENVIRONMENT_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "device/xrt/xclbin_writer.h"
#include "device/xrt/xrt_device.h"
#include "kernels/kernel_profiles.h"

namespace fabric::xrt_test {

// Sets XCL_EMULATION_MODE=noop and XILINX_XRT to a scratch directory whose lib/ links to the
// directory holding the loaded libxrt_coreutil (on Debian /usr/lib/x86_64-linux-gnu, where
// libxrt_noop.so.2 sits too). XRT reads both once, at its first call: call this before any XRT
// call (test fixtures do it in SetUpTestSuite). Idempotent; the directory is removed at exit.
void UseNoopXrt();

// Writes `bytes` as `name` into the scratch directory and returns its path.
std::string ScratchFile(const std::string& name, const std::string& bytes);

// The path of the xclbin of `design`, written once per name into the scratch directory.
std::string XclbinFile(const std::string& name, const XclbinDesign& design);

// A no-op card with Fabric's xclbin of `profile` on `platform`.
struct NoopCard {
  std::string platform = "u280";
  int index = 0;
  KernelProfile profile = KernelProfile::kUnified;
  bool emulate = true;
  std::function<void(std::string_view kernel)> before_emulated_run = nullptr;
};
absl::StatusOr<std::unique_ptr<XrtDevice>> OpenNoopCard(const NoopCard& card);

}  // namespace fabric::xrt_test

#endif  // FABRIC_TESTS_DEVICE_XRT_NOOP_ENVIRONMENT_H_
