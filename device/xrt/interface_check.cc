#include "device/xrt/interface_check.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fabric {
namespace {

std::string SignatureText(const KernelSpec& spec) {
  std::vector<std::string> args;
  for (const ArgSpec& arg : spec.args) {
    args.push_back(absl::StrCat(std::string(ArgKindName(arg.kind)), " ", std::string(arg.name)));
  }
  return absl::StrCat("(", absl::StrJoin(args, ", "), ")");
}

std::string DeclaredText(const DeclaredKernel& kernel) {
  std::vector<std::string> args;
  for (const DeclaredArg& arg : kernel.args) args.push_back(arg.host_type + " " + arg.name);
  return absl::StrCat("(", absl::StrJoin(args, ", "), ")");
}

// The first disagreement between one argument and its spec, or an empty string.
std::string ArgumentMismatch(const DeclaredArg& declared, const ArgSpec& spec) {
  if (declared.name != spec.name) {
    return absl::StrCat("is named '", declared.name, "' in the xclbin, '", std::string(spec.name),
                        "' in Fabric's signature");
  }
  const std::optional<ArgKind> kind = DeclaredKind(declared);
  if (!kind.has_value()) {
    return absl::StrCat("has type '", declared.host_type, "' in the xclbin, which Fabric cannot",
                        " pass (it expects ", std::string(ArgKindName(spec.kind)), ")");
  }
  if (*kind != spec.kind) {
    return absl::StrCat("is ", std::string(ArgKindName(*kind)), " ('", declared.host_type,
                        "') in the xclbin, ", std::string(ArgKindName(spec.kind)),
                        " in Fabric's signature");
  }
  if (spec.kind == ArgKind::kBuffer) {
    const std::string port = absl::StrCat("M_AXI_", std::string(spec.bundle));
    if (!absl::EqualsIgnoreCase(declared.port, port)) {
      return absl::StrCat("is on port ", declared.port, " in the xclbin, bundle ",
                          std::string(spec.bundle), " (", absl::AsciiStrToUpper(port),
                          ") in Fabric's signature");
    }
  }
  return "";
}

absl::Status CheckKernel(std::string_view source, const DeclaredKernel& kernel,
                         const KernelSpec& spec) {
  const size_t common = std::min(kernel.args.size(), spec.args.size());
  for (size_t i = 0; i < common; ++i) {
    std::string mismatch = ArgumentMismatch(kernel.args[i], spec.args[i]);
    if (!mismatch.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(std::string(source), ": kernel ", kernel.name, " argument ", i, " '",
                       std::string(spec.args[i].name), "' ", mismatch, "; the xclbin declares ",
                       DeclaredText(kernel), ", Fabric expects ", SignatureText(spec)));
    }
  }
  if (kernel.args.size() != spec.args.size()) {
    const bool missing = kernel.args.size() < spec.args.size();
    const std::string arg =
        missing ? std::string(spec.args[common].name) : kernel.args[common].name;
    return absl::FailedPreconditionError(absl::StrCat(
        std::string(source), ": kernel ", kernel.name, " has ", kernel.args.size(),
        " arguments in the xclbin, ", spec.args.size(), " in Fabric's signature: argument ", common,
        " '", arg, "' ", missing ? "is missing from the xclbin" : "is not in Fabric's",
        missing ? "" : " signature", "; the xclbin declares ", DeclaredText(kernel),
        ", Fabric expects ", SignatureText(spec)));
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<ArgKind> DeclaredKind(const DeclaredArg& arg) {
  const std::string type(absl::StripAsciiWhitespace(arg.host_type));
  if (!type.empty() && type.back() == '*') return ArgKind::kBuffer;
  if (type == "float") return ArgKind::kFloat;
  for (const char* int_type : {"int", "unsigned int", "unsigned", "int32_t", "uint32_t"}) {
    if (type == int_type) return ArgKind::kInt;
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<std::string>> CheckInterface(
    std::string_view source, const std::vector<DeclaredKernel>& kernels) {
  for (const DeclaredKernel& kernel : kernels) {
    const KernelSpec* spec = FindKernelSpec(kernel.name);
    if (spec == nullptr) continue;
    absl::Status status = CheckKernel(source, kernel, *spec);
    if (!status.ok()) return status;
  }
  std::vector<std::string> known;
  for (const KernelSpec& spec : kKernelSpecs) {
    const bool declared = std::any_of(kernels.begin(), kernels.end(),
                                      [&](const DeclaredKernel& k) { return k.name == spec.name; });
    if (declared) known.emplace_back(spec.name);
  }
  return known;
}

}  // namespace fabric
