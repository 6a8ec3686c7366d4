#include "server/xclbin_command.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/cli_args.h"
#include "common/status_macros.h"
#include "device/xrt/platforms.h"
#include "device/xrt/xclbin_writer.h"
#include "kernels/kernel_profiles.h"

namespace fabric {
namespace {

std::string Usage() {
  std::vector<std::string> platforms;
  for (const PlatformSpec& platform : kPlatformSpecs) platforms.emplace_back(platform.name);
  return absl::StrCat("usage: fabric xclbin --platform ", absl::StrJoin(platforms, "|"),
                      " --profile unified|prefill|decode (--output FILE | --vpp-config | "
                      "--kernels)\n"
                      "  --output FILE  write the xclbin metadata (kernels, memory topology, "
                      "connectivity)\n"
                      "  --vpp-config   print the [connectivity] section of the v++ link "
                      "configuration\n"
                      "  --kernels      print the kernels the profile's bitstream holds, one a line");
}

absl::Status UsageError(const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(message, "\n", Usage()));
}

}  // namespace

absl::Status RunXclbinCommand(const std::vector<std::string>& args) {
  auto parsed = CliArgs::Parse(args, {"platform", "profile", "output"}, {"vpp-config", "kernels"});
  if (!parsed.ok()) return UsageError(std::string(parsed.status().message()));
  const CliArgs& flags = *parsed;
  if (flags.Has("help")) {
    std::printf("%s\n", Usage().c_str());
    return absl::OkStatus();
  }
  if (absl::Status missing = flags.Require({"platform", "profile"}); !missing.ok()) {
    return UsageError(std::string(missing.message()));
  }
  const PlatformSpec* platform = FindPlatform(flags.GetString("platform"));
  if (platform == nullptr) {
    return UsageError(absl::StrCat("unknown --platform '", flags.GetString("platform"), "'"));
  }
  KernelProfile profile;
  if (!ParseProfile(flags.GetString("profile"), &profile)) {
    return UsageError(absl::StrCat("unknown --profile '", flags.GetString("profile"), "'"));
  }
  if (flags.Has("output") + flags.Has("vpp-config") + flags.Has("kernels") != 1) {
    return UsageError("give exactly one of --output, --vpp-config and --kernels");
  }
  if (flags.Has("kernels")) {
    for (std::string_view kernel : ProfileKernels(profile)) {
      std::printf("%s\n", std::string(kernel).c_str());
    }
    return absl::OkStatus();
  }
  if (flags.Has("vpp-config")) {
    ASSIGN_OR_RETURN(const std::string config, VppConnectivity(*platform, profile));
    std::fputs(config.c_str(), stdout);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const std::string bytes, WriteXclbin(FabricDesign(*platform, profile)));
  return WriteFile(flags.GetString("output"), bytes);
}

}  // namespace fabric
