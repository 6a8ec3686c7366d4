#include "tests/device/xrt/noop_environment.h"

#include <link.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string_view>

#include "gtest/gtest.h"

namespace fabric::xrt_test {
namespace {

// The directory of the loaded libxrt_coreutil, whose shims sit beside it.
int FindCoreutil(dl_phdr_info* info, size_t, void* data) {
  const std::string_view path = info->dlpi_name == nullptr ? "" : info->dlpi_name;
  if (path.find("libxrt_coreutil.so") == std::string_view::npos) return 0;
  *static_cast<std::string*>(data) = std::filesystem::path(path).parent_path().string();
  return 1;
}

std::string& Scratch() {
  static std::string* const dir = new std::string();
  return *dir;
}

void RemoveScratch() {
  std::error_code ignored;
  std::filesystem::remove_all(Scratch(), ignored);
}

void SetUp() {
  std::string library_dir;
  dl_iterate_phdr(FindCoreutil, &library_dir);
  ASSERT_FALSE(library_dir.empty()) << "libxrt_coreutil is not loaded";
  const std::filesystem::path base = std::filesystem::temp_directory_path() / "fabric_xrt_XXXXXX";
  std::string dir = base.string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  Scratch() = dir;
  std::atexit(RemoveScratch);
  std::filesystem::create_directory_symlink(library_dir, std::filesystem::path(dir) / "lib");
  setenv("XILINX_XRT", dir.c_str(), /*overwrite=*/1);
  setenv("XCL_EMULATION_MODE", "noop", /*overwrite=*/1);
}

}  // namespace

void UseNoopXrt() {
  static std::once_flag once;
  std::call_once(once, SetUp);
}

std::string ScratchFile(const std::string& name, const std::string& bytes) {
  UseNoopXrt();
  const std::string path = (std::filesystem::path(Scratch()) / name).string();
  EXPECT_TRUE(WriteFile(path, bytes).ok()) << path;
  return path;
}

std::string XclbinFile(const std::string& name, const XclbinDesign& design) {
  UseNoopXrt();
  static std::mutex mutex;  // cards opened from several threads share the files
  std::lock_guard<std::mutex> lock(mutex);
  const std::string path = (std::filesystem::path(Scratch()) / name).string();
  if (!std::filesystem::exists(path)) {
    absl::StatusOr<std::string> bytes = WriteXclbin(design);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    if (bytes.ok()) {
      EXPECT_TRUE(WriteFile(path, *bytes).ok()) << path;
    }
  }
  return path;
}

absl::StatusOr<std::unique_ptr<XrtDevice>> OpenNoopCard(const NoopCard& card) {
  const PlatformSpec* platform = FindPlatform(card.platform);
  EXPECT_NE(platform, nullptr) << card.platform;
  const std::string name = card.platform + "_" + std::string(ProfileName(card.profile)) + ".xclbin";
  XrtDeviceOptions options;
  options.card = std::to_string(card.index);
  options.xclbin_path = XclbinFile(name, FabricDesign(*platform, card.profile));
  options.emulate_kernels_on_host = card.emulate;
  options.before_emulated_run = card.before_emulated_run;
  return XrtDevice::Open(std::move(options));
}

}  // namespace fabric::xrt_test
