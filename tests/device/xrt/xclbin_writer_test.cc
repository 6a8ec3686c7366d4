#include "device/xrt/xclbin_writer.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "device/xrt/platforms.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/kernel_profiles.h"

namespace fabric {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

// Offsets of the axlf container (/usr/include/xrt/xclbin.h), which this test reads by hand.
constexpr size_t kLength = 304;          // axlf.m_header.m_length
constexpr size_t kUuid = 304 + 112;      // axlf.m_header.uuid
constexpr size_t kSections = 304 + 144;  // axlf.m_header.m_numSections
constexpr size_t kSectionHeaders = 456;  // axlf.m_sections
constexpr size_t kSectionHeaderSize = 40;

template <typename T>
T At(const std::string& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

struct Section {
  uint32_t kind;
  std::string data;
};

std::vector<Section> Sections(const std::string& bytes) {
  std::vector<Section> sections;
  const uint32_t count = At<uint32_t>(bytes, kSections);
  for (uint32_t i = 0; i < count; ++i) {
    const size_t header = kSectionHeaders + i * kSectionHeaderSize;
    const uint64_t offset = At<uint64_t>(bytes, header + 24);
    const uint64_t size = At<uint64_t>(bytes, header + 32);
    EXPECT_EQ(offset % 8, 0u);
    EXPECT_LE(offset + size, bytes.size());
    sections.push_back({At<uint32_t>(bytes, header), bytes.substr(offset, size)});
  }
  return sections;
}

using Target = std::pair<std::string, KernelProfile>;

std::vector<Target> AllTargets() {
  std::vector<Target> targets;
  for (const PlatformSpec& platform : kPlatformSpecs) {
    for (const ProfileSpec& profile : kProfileSpecs) {
      targets.emplace_back(std::string(platform.name), profile.profile);
    }
  }
  return targets;
}

std::string Write(const Target& target) {
  absl::StatusOr<std::string> bytes = WriteFabricXclbin(target.first, target.second);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

class XclbinWriterTest : public ::testing::TestWithParam<Target> {};

TEST_P(XclbinWriterTest, WritesTheAxlfContainerWithTheSectionsXrtNeeds) {
  const std::string bytes = Write(GetParam());
  ASSERT_GT(bytes.size(), kSectionHeaders);
  EXPECT_EQ(bytes.substr(0, 8), std::string("xclbin2\0", 8));
  EXPECT_EQ(At<uint64_t>(bytes, kLength), bytes.size());
  std::vector<uint32_t> kinds;
  for (const Section& section : Sections(bytes)) kinds.push_back(section.kind);
  // EMBEDDED_METADATA, MEM_TOPOLOGY, IP_LAYOUT, CONNECTIVITY
  EXPECT_THAT(kinds, UnorderedElementsAre(2u, 6u, 8u, 7u));
}

TEST_P(XclbinWriterTest, DeclaresExactlyTheProfilesKernelsWithTheirArguments) {
  const std::string xml = Sections(Write(GetParam()))[0].data;
  const auto offered = ProfileKernels(GetParam().second);
  for (const KernelSpec& spec : kKernelSpecs) {
    const std::string element = "<kernel name=\"" + std::string(spec.name) + "\"";
    if (std::find(offered.begin(), offered.end(), spec.name) == offered.end()) {
      EXPECT_THAT(xml, Not(HasSubstr(element)));
      continue;
    }
    EXPECT_THAT(xml, HasSubstr(element));
    EXPECT_THAT(xml, HasSubstr("<instance name=\"" + std::string(spec.name) + "_1\">"));
  }
  EXPECT_THAT(xml, HasSubstr("<arg name=\"delta\" addressQualifier=\"1\" id=\"1\" "
                             "port=\"M_AXI_GMEM_IN\" size=\"0x8\""));
  EXPECT_THAT(xml, HasSubstr("<arg name=\"end\" addressQualifier=\"0\" id=\"3\" "
                             "port=\"S_AXI_CONTROL\" size=\"0x4\""));
}

TEST_P(XclbinWriterTest, IsDeterministicAndHasAUuidOfItsOwn) {
  const std::string bytes = Write(GetParam());
  EXPECT_EQ(bytes, Write(GetParam()));
  const std::string uuid = bytes.substr(kUuid, 16);
  for (const Target& other : AllTargets()) {
    if (other == GetParam()) continue;
    EXPECT_NE(Write(other).substr(kUuid, 16), uuid)
        << other.first << " " << ProfileName(other.second);
  }
}

TEST_P(XclbinWriterTest, VppConnectivityFollowsTheSameRule) {
  const PlatformSpec& platform = *FindPlatform(GetParam().first);
  absl::StatusOr<std::string> config = VppConnectivity(platform, GetParam().second);
  ASSERT_TRUE(config.ok()) << config.status();
  for (std::string_view kernel : ProfileKernels(GetParam().second)) {
    const std::string cu = std::string(kernel) + "_1";
    EXPECT_THAT(*config, HasSubstr("nk=" + std::string(kernel) + ":1:" + cu + "\n"));
  }
  if (GetParam().second != KernelProfile::kPrefill) {
    EXPECT_THAT(*config, AllOf(HasSubstr("sp=matvec_f32_1.w:HBM[0:25]\n"),
                               HasSubstr("sp=matvec_f32_1.out:HBM[0:1]\n")));
  }
  EXPECT_THAT(*config, HasSubstr("sp=attention_1.k_cache:HBM[26:31]\n"));
  // Dot-product engines next to the HBM, element-wise kernels in another SLR.
  EXPECT_THAT(*config, AllOf(HasSubstr("slr=attention_1:SLR0\n"), HasSubstr("slr=rmsnorm_1:SLR1\n"),
                             HasSubstr("slr=residual_add_1:SLR1\n")));
  if (GetParam().second == KernelProfile::kDecode) {
    EXPECT_THAT(*config, HasSubstr("slr=decode_ffn_q8_0_1:SLR0\n"));
  }
}

// kernels/hw/<platform>.cfg, the v++ options of the hardware build, names the shell and the
// kernel clock the xclbin metadata and the planner assume.
TEST_P(XclbinWriterTest, HardwareBuildConfigNamesTheSamePlatformAndClock) {
  const PlatformSpec& platform = *FindPlatform(GetParam().first);
  const std::string path =
      std::string(FABRIC_SOURCE_DIR) + "/kernels/hw/" + std::string(platform.name) + ".cfg";
  std::ifstream file(path);
  ASSERT_TRUE(file) << path;
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("\nplatform=" + std::string(platform.vbnv) + "\n")) << path;
  EXPECT_THAT(text,
              HasSubstr("\nkernel_frequency=0:" + std::to_string(platform.kernel_clock_mhz) + "\n"))
      << path;
}

INSTANTIATE_TEST_SUITE_P(xrt, XclbinWriterTest, ::testing::ValuesIn(AllTargets()),
                         [](const auto& info) {
                           return info.param.first + "_" +
                                  std::string(ProfileName(info.param.second));
                         });

class PlatformTest : public ::testing::TestWithParam<std::string> {
 protected:
  const PlatformSpec& platform() const { return *FindPlatform(GetParam()); }
};

TEST_P(PlatformTest, HasItsHbmChannelsAndDdrBanks) {
  const std::vector<PlatformBank> banks = PlatformBanks(platform());
  const bool u280 = GetParam() == "u280";
  ASSERT_EQ(banks.size(), u280 ? 34u : 32u);
  EXPECT_EQ(banks[0].tag, "HBM[0]");
  EXPECT_EQ(banks[31].tag, "HBM[31]");
  EXPECT_EQ(banks[31].bytes, uint64_t{u280 ? 256u : 512u} << 20);
  if (u280) {
    EXPECT_EQ(banks[33].tag, "DDR[1]");
    EXPECT_EQ(banks[33].bytes, uint64_t{16} << 30);
  }
  EXPECT_EQ(*BundleBanks(platform(), "gmem_in"), (std::vector<int>{0, 1}));
  EXPECT_EQ(BundleBanks(platform(), "gmem_other").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(PlatformTest, ADesignXrtCouldNotLoadIsRefused) {
  XclbinDesign design = FabricDesign(platform(), KernelProfile::kDecode);
  design.kernels[0].args[0].bundle = "gmem_other";
  absl::StatusOr<std::string> bytes = WriteXclbin(design);
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bytes.status().message(), HasSubstr("gmem_other"));
  design = FabricDesign(platform(), KernelProfile::kDecode);
  design.kernels[0].name = "bad name";
  EXPECT_EQ(WriteXclbin(design).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteXclbin(XclbinDesign{}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteFabricXclbin("u9000", KernelProfile::kDecode).status().code(),
            absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(xrt, PlatformTest, ::testing::Values("u280", "u55c"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fabric
