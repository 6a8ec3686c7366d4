// Tests of the bitstream profiles (kernels/kernel_profiles.h) against the signature table:
// every kernel a profile names exists, prefill and decode together offer every kernel, and
// neither offers the other phase's matrix products; only decode has the fused decode layer.
#include "kernels/kernel_profiles.h"

#include <set>
#include <span>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "kernels/kernel_signatures.h"

namespace fabric {
namespace {

constexpr KernelProfile kProfiles[] = {KernelProfile::kUnified, KernelProfile::kPrefill,
                                       KernelProfile::kDecode};

std::set<std::string_view> KernelSet(KernelProfile profile) {
  const std::span<const std::string_view> kernels = ProfileKernels(profile);
  return {kernels.begin(), kernels.end()};
}

TEST(KernelProfilesTest, EveryProfileNamesDistinctKernelsOfTheTable) {
  for (KernelProfile profile : kProfiles) {
    const std::span<const std::string_view> kernels = ProfileKernels(profile);
    EXPECT_FALSE(kernels.empty()) << ProfileName(profile);
    EXPECT_EQ(KernelSet(profile).size(), kernels.size()) << ProfileName(profile);
    for (std::string_view kernel : kernels) {
      EXPECT_NE(FindKernelSpec(kernel), nullptr) << ProfileName(profile) << ": " << kernel;
    }
  }
}

TEST(KernelProfilesTest, UnifiedOffersEveryKernel) {
  std::set<std::string_view> table;
  for (const KernelSpec& spec : kKernelSpecs) table.insert(spec.name);
  EXPECT_EQ(KernelSet(KernelProfile::kUnified), table);
}

TEST(KernelProfilesTest, PrefillAndDecodeTogetherOfferEveryKernel) {
  std::set<std::string_view> both = KernelSet(KernelProfile::kPrefill);
  both.merge(KernelSet(KernelProfile::kDecode));
  for (const KernelSpec& spec : kKernelSpecs) EXPECT_TRUE(both.count(spec.name)) << spec.name;
}

TEST(KernelProfilesTest, PrefillHasNoDecodeKernelsAndDecodeNoMatmul) {
  for (std::string_view kernel : ProfileKernels(KernelProfile::kPrefill)) {
    EXPECT_FALSE(kernel.starts_with("matvec")) << kernel;
    EXPECT_FALSE(kernel.starts_with("decode_")) << kernel;
  }
  for (std::string_view kernel : ProfileKernels(KernelProfile::kDecode)) {
    EXPECT_FALSE(kernel.starts_with("matmul")) << kernel;
  }
  // Each offers its own phase's products, for both weight formats.
  for (std::string_view kernel : {"matmul_f32", "matmul_q8_0"}) {
    EXPECT_TRUE(KernelSet(KernelProfile::kPrefill).count(kernel)) << kernel;
  }
  for (std::string_view kernel : {"matvec_f32", "matvec_q8_0", "decode_attention_f32",
                                  "decode_attention_q8_0", "decode_ffn_f32", "decode_ffn_q8_0"}) {
    EXPECT_TRUE(KernelSet(KernelProfile::kDecode).count(kernel)) << kernel;
  }
}

TEST(KernelProfilesTest, NamesRoundTrip) {
  EXPECT_EQ(ProfileName(KernelProfile::kUnified), "unified");
  EXPECT_EQ(ProfileName(KernelProfile::kPrefill), "prefill");
  EXPECT_EQ(ProfileName(KernelProfile::kDecode), "decode");
  for (KernelProfile profile : kProfiles) {
    KernelProfile parsed =
        profile == KernelProfile::kUnified ? KernelProfile::kDecode : KernelProfile::kUnified;
    EXPECT_TRUE(ParseProfile(ProfileName(profile), &parsed)) << ProfileName(profile);
    EXPECT_EQ(parsed, profile);
  }
}

TEST(KernelProfilesTest, ParseRejectsUnknownNames) {
  for (std::string_view name : {"", "Decode", "decode ", "mixed", "prefil"}) {
    KernelProfile parsed = KernelProfile::kPrefill;
    EXPECT_FALSE(ParseProfile(name, &parsed)) << "'" << name << "'";
    EXPECT_EQ(parsed, KernelProfile::kPrefill);
  }
}

// Usable at compile time, e.g. to size a bitstream's kernel table.
static_assert(ProfileKernels(KernelProfile::kUnified).size() == kKernelSpecs.size());
static_assert(ProfileKernels(KernelProfile::kPrefill).size() == kKernelSpecs.size() - 6);
static_assert(ProfileKernels(KernelProfile::kDecode).size() == kKernelSpecs.size() - 2);

}  // namespace
}  // namespace fabric
