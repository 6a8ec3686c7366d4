// The bitstream profiles: which kernels each kind of card bitstream offers, as data.
// A card runs one bitstream (see docs/DESIGN.md). The unified bitstream offers every kernel of
// kernel_signatures.h. The prefill bitstream is tuned for many tokens (wide GEMM tiles) and
// lacks the decode kernels: the matrix products matvec_* and the fused decode layer
// decode_*. The decode bitstream is tuned for a few tokens (GEMV kernels streaming weights
// past activations held on chip, and the fused layer keeping every intermediate on chip) and
// lacks the prefill matrix products matmul_*. matvec_* and matmul_* take the same arguments,
// so a program launches whichever its card offers; every other kernel is in all three
// bitstreams.
//
// Plain C++ with no library dependencies, usable by any module and at compile time.
#ifndef FABRIC_KERNELS_KERNEL_PROFILES_H_
#define FABRIC_KERNELS_KERNEL_PROFILES_H_

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "kernels/kernel_signatures.h"

namespace fabric {

enum class KernelProfile { kUnified, kPrefill, kDecode };

struct ProfileSpec {
  KernelProfile profile;
  std::string_view name;  // in configuration and flags
  // The bitstream offers every kernel of kKernelSpecs except those whose name starts with
  // one of `lacks` (empty prefixes are unused slots).
  std::array<std::string_view, 2> lacks;
};

inline constexpr std::array<ProfileSpec, 3> kProfileSpecs = {{
    {KernelProfile::kUnified, "unified", {}},
    {KernelProfile::kPrefill, "prefill", {"matvec_", "decode_"}},
    {KernelProfile::kDecode, "decode", {"matmul_"}},
}};

namespace kernel_profiles_internal {

// The entry of `profile` (a search, not an index, so no value of the enum reads out of bounds).
constexpr const ProfileSpec* FindSpec(KernelProfile profile) {
  for (const ProfileSpec& spec : kProfileSpecs) {
    if (spec.profile == profile) return &spec;
  }
  return nullptr;
}

constexpr bool Offers(KernelProfile profile, std::string_view kernel) {
  const ProfileSpec* spec = FindSpec(profile);
  if (spec == nullptr) return false;
  for (size_t i = 0; i < spec->lacks.size(); ++i) {
    if (!spec->lacks[i].empty() && kernel.starts_with(spec->lacks[i])) return false;
  }
  return true;
}

// The names of the kernels `profile` offers, in kKernelSpecs order.
template <KernelProfile profile>
constexpr auto OfferedKernels() {
  constexpr size_t kCount = [] {
    size_t count = 0;
    for (const KernelSpec& kernel : kKernelSpecs) count += Offers(profile, kernel.name);
    return count;
  }();
  std::array<std::string_view, kCount> names{};
  size_t i = 0;
  for (const KernelSpec& kernel : kKernelSpecs) {
    if (Offers(profile, kernel.name)) names[i++] = kernel.name;
  }
  return names;
}

inline constexpr auto kUnifiedKernels = OfferedKernels<KernelProfile::kUnified>();
inline constexpr auto kPrefillKernels = OfferedKernels<KernelProfile::kPrefill>();
inline constexpr auto kDecodeKernels = OfferedKernels<KernelProfile::kDecode>();

}  // namespace kernel_profiles_internal

// The kernels the bitstream of `profile` offers, by the names of their top functions.
constexpr std::span<const std::string_view> ProfileKernels(KernelProfile profile) {
  switch (profile) {
    case KernelProfile::kUnified:
      return kernel_profiles_internal::kUnifiedKernels;
    case KernelProfile::kPrefill:
      return kernel_profiles_internal::kPrefillKernels;
    case KernelProfile::kDecode:
      return kernel_profiles_internal::kDecodeKernels;
  }
  return {};
}

// "unified", "prefill" or "decode" ("?" for a value outside the enum).
constexpr std::string_view ProfileName(KernelProfile profile) {
  const ProfileSpec* spec = kernel_profiles_internal::FindSpec(profile);
  return spec != nullptr ? spec->name : "?";
}

// Sets *profile to the profile named `name` (as ProfileName spells it) and returns true, or
// returns false and leaves *profile alone.
constexpr bool ParseProfile(std::string_view name, KernelProfile* profile) {
  for (const ProfileSpec& spec : kProfileSpecs) {
    if (spec.name == name) {
      *profile = spec.profile;
      return true;
    }
  }
  return false;
}

}  // namespace fabric

#endif  // FABRIC_KERNELS_KERNEL_PROFILES_H_
