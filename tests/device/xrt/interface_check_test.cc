#include "device/xrt/interface_check.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/kernel_signatures.h"

namespace fabric {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A kernel as Vitis would declare it from kernel_signatures.h.
DeclaredKernel Declare(const KernelSpec& spec) {
  DeclaredKernel kernel{std::string(spec.name), {}};
  for (const ArgSpec& arg : spec.args) {
    switch (arg.kind) {
      case ArgKind::kBuffer:
        kernel.args.push_back({std::string(arg.name), "float*",
                               "M_AXI_" + absl::AsciiStrToUpper(std::string(arg.bundle))});
        break;
      case ArgKind::kInt:
        kernel.args.push_back({std::string(arg.name), "int", "S_AXI_CONTROL"});
        break;
      case ArgKind::kFloat:
        kernel.args.push_back({std::string(arg.name), "float", "S_AXI_CONTROL"});
        break;
    }
  }
  return kernel;
}

// Each kernel of the signature table, altered in one argument at a time.
class InterfaceCheckTest : public ::testing::TestWithParam<std::string> {
 protected:
  const KernelSpec& spec() const { return *FindKernelSpec(GetParam()); }

  absl::Status Check(const DeclaredKernel& kernel) {
    return CheckInterface("card9 (xclbin 'x.xclbin')", {kernel}).status();
  }

  void ExpectRefused(const DeclaredKernel& kernel, const std::string& arg, const std::string& why) {
    absl::Status status = Check(kernel);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(status.message(), AllOf(HasSubstr("card9 (xclbin 'x.xclbin')"),
                                        HasSubstr("kernel " + GetParam() + " "),
                                        HasSubstr("'" + arg + "'"), HasSubstr(why)));
  }
};

TEST_P(InterfaceCheckTest, TheSignatureAsVitisDeclaresItPasses) {
  absl::StatusOr<std::vector<std::string>> known =
      CheckInterface("card9", {Declare(spec()), {"vendor_kernel", {{"p", "char", "X"}}}});
  ASSERT_TRUE(known.ok()) << known.status();
  EXPECT_THAT(*known, ElementsAre(GetParam()));
}

TEST_P(InterfaceCheckTest, AnArgumentOfAnotherKindIsRefused) {
  DeclaredKernel kernel = Declare(spec());
  kernel.args[0].host_type = "int";  // every kernel's first argument is a buffer
  ExpectRefused(kernel, kernel.args[0].name, "is int ('int') in the xclbin, buffer in Fabric's");
  kernel = Declare(spec());
  kernel.args.back().host_type = "float";  // and its last is the int `end`
  ExpectRefused(kernel, "end", "is float ('float') in the xclbin, int in Fabric's");
}

TEST_P(InterfaceCheckTest, AMissingArgumentIsRefused) {
  DeclaredKernel kernel = Declare(spec());
  kernel.args.pop_back();
  ExpectRefused(kernel, "end", "is missing from the xclbin");
}

TEST_P(InterfaceCheckTest, AnExtraArgumentIsRefused) {
  DeclaredKernel kernel = Declare(spec());
  kernel.args.push_back({"stride", "int", "S_AXI_CONTROL"});
  ExpectRefused(kernel, "stride", "is not in Fabric's signature");
}

TEST_P(InterfaceCheckTest, ArgumentsInAnotherOrderAreRefused) {
  DeclaredKernel kernel = Declare(spec());
  std::swap(kernel.args[kernel.args.size() - 1], kernel.args[kernel.args.size() - 2]);
  ExpectRefused(kernel, "begin", "is named 'end' in the xclbin, 'begin' in Fabric's signature");
}

TEST_P(InterfaceCheckTest, ABufferOnAnotherBundlesPortIsRefused) {
  DeclaredKernel kernel = Declare(spec());
  kernel.args[0].port = "M_AXI_GMEM_OTHER";
  ExpectRefused(kernel, kernel.args[0].name, "is on port M_AXI_GMEM_OTHER in the xclbin");
}

TEST_P(InterfaceCheckTest, ATypeFabricCannotPassIsRefused) {
  DeclaredKernel kernel = Declare(spec());
  kernel.args.back().host_type = "double";
  ExpectRefused(kernel, "end", "has type 'double' in the xclbin");
}

std::vector<std::string> KernelNames() {
  std::vector<std::string> names;
  for (const KernelSpec& spec : kKernelSpecs) names.emplace_back(spec.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(xrt, InterfaceCheckTest, ::testing::ValuesIn(KernelNames()),
                         [](const auto& info) { return info.param; });

struct HostType {
  std::string name;  // the test's
  std::string type;
  std::optional<ArgKind> kind;
};

class DeclaredKindTest : public ::testing::TestWithParam<HostType> {};

TEST_P(DeclaredKindTest, ClassifiesTheHostType) {
  EXPECT_EQ(DeclaredKind({"a", GetParam().type, ""}), GetParam().kind);
}

INSTANTIATE_TEST_SUITE_P(
    xrt, DeclaredKindTest,
    ::testing::Values(HostType{"const_pointer", "const float*", ArgKind::kBuffer},
                      HostType{"spaced_pointer", "BlockQ8_0 *", ArgKind::kBuffer},
                      HostType{"float", "float", ArgKind::kFloat},
                      HostType{"int", "int", ArgKind::kInt},
                      HostType{"unsigned", "unsigned int", ArgKind::kInt},
                      HostType{"double", "double", std::nullopt}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace fabric
