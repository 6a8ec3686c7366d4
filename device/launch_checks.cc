#include "device/launch_checks.h"

#include <variant>

#include "absl/strings/str_cat.h"

namespace fabric {

ArgKind KindOfArg(const KernelArg& arg) {
  if (std::holds_alternative<BufferRef>(arg)) return ArgKind::kBuffer;
  if (std::holds_alternative<int32_t>(arg)) return ArgKind::kInt;
  return ArgKind::kFloat;
}

absl::Status CheckLaunchArgs(const std::string& card, std::string_view kernel,
                             const KernelSpec& spec, std::span<const KernelArg> args) {
  const std::string name(kernel);
  if (args.size() != spec.args.size()) {
    return absl::InvalidArgumentError(absl::StrCat(card, ": kernel ", name, " takes ",
                                                   spec.args.size(), " arguments, got ",
                                                   args.size()));
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (KindOfArg(args[i]) != spec.args[i].kind) {
      return absl::InvalidArgumentError(absl::StrCat(
          card, ": kernel ", name, " argument ", std::string(spec.args[i].name), " must be ",
          std::string(ArgKindName(spec.args[i].kind)), ", got ",
          std::string(ArgKindName(KindOfArg(args[i])))));
    }
  }
  // Every signature ends with the work range (kernels/kernel_signatures.h).
  const int begin = std::get<int32_t>(args[args.size() - 2]);
  const int end = std::get<int32_t>(args[args.size() - 1]);
  if (end < begin || begin < 0) {
    return absl::InvalidArgumentError(absl::StrCat(card, ": kernel ", name,
                                                   " has an invalid range [", begin, ", ", end,
                                                   ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckBufferRange(const std::string& card, const std::string& what, BufferId buffer,
                              size_t offset, size_t bytes, size_t buffer_bytes) {
  if (offset > buffer_bytes || bytes > buffer_bytes - offset) {
    return absl::OutOfRangeError(absl::StrCat(card, ": ", what, ": bytes [", offset, ", ",
                                              offset + bytes, ") outside buffer ", buffer, " of ",
                                              buffer_bytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace fabric
