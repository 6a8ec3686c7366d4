// The Alveo platforms Fabric builds bitstreams for, as data: each platform's memory banks and
// the placement rule that connects each kernel memory port (an AXI bundle of
// kernels/kernel_signatures.h) to banks. The xclbin writer generates a bitstream's memory
// topology and connectivity from this table, and a v++ connectivity file can be generated from
// the same rule (VppConnectivity below), so the metadata and the hardware build cannot drift.
//
// The placement rule (the same on every platform so far), over HBM pseudo-channels:
//   gmem_in, gmem_out,   activations   channels 0..1, shared by every activation port so one
//   gmem_idx                           kernel's output feeds the next one's input
//   gmem_w               weights       channels 0..25: the weights live on 2..25, spread (each
//                                      weight buffer goes to the freest channel); the port also
//                                      reaches the activation channels, since programs gather
//                                      rows of activations too (gather_f32 picks the logit rows
//                                      out of the hidden states through its table port)
//   gmem_kv              KV cache      channels 26..31, their own
// A range is contiguous, as v++'s sp= option wants it. DDR banks (U280) are declared in the
// memory topology but no port connects to them yet. XrtDevice derives where each kind of buffer
// goes from the connectivity alone: the banks all of the kind's ports reach, preferring those
// no other kind's port reaches (so weights keep off the activation channels).
//
// Plain C++ with no XRT types: immutable tables, thread-safe.
#ifndef FABRIC_DEVICE_XRT_PLATFORMS_H_
#define FABRIC_DEVICE_XRT_PLATFORMS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/kernel_profiles.h"

namespace fabric {

enum class BankType { kHbm, kDdr };

// `count` consecutive banks of one type, from index `first`: HBM[first .. first + count - 1].
struct BankRange {
  BankType type;
  int first;
  int count;
};

// Where the kernel ports of one AXI bundle connect.
struct BundlePlacement {
  std::string_view bundle;  // e.g. "gmem_w"
  BankRange banks;
};

struct PlatformSpec {
  std::string_view name;  // in flags and file names: "u280"
  std::string_view vbnv;  // the shell the bitstream is built for (axlf header)
  std::string_view fpga_part;
  int hbm_channels;
  uint64_t hbm_channel_bytes;
  int ddr_banks;
  uint64_t ddr_bank_bytes;
  int kernel_clock_mhz;
  std::span<const BundlePlacement> placement;  // one entry per bundle of the signature table
  // Super logic regions: the one the HBM controllers sit in, and another for the rest.
  std::string_view hbm_slr;
  std::string_view other_slr;
};

namespace platform_rules {
inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kGiB = uint64_t{1} << 30;
inline constexpr BundlePlacement kHbmPlacement[] = {
    {"gmem_in", {BankType::kHbm, 0, 2}},  {"gmem_out", {BankType::kHbm, 0, 2}},
    {"gmem_idx", {BankType::kHbm, 0, 2}}, {"gmem_w", {BankType::kHbm, 0, 26}},
    {"gmem_kv", {BankType::kHbm, 26, 6}},
};
// Kernels whose dot-product engines stream weights or the KV cache from HBM (names starting
// with these) are placed in the HBM's SLR; the element-wise kernels, which move little data
// and would crowd it, in another.
inline constexpr std::string_view kHbmSlrKernelPrefixes[] = {"matvec_", "matmul_", "decode_",
                                                             "attention"};
}  // namespace platform_rules

inline constexpr PlatformSpec kPlatformSpecs[] = {
    {"u280", "xilinx_u280_gen3x16_xdma_1_202211_1", "xcu280-fsvh2892-2L-e", 32,
     256 * platform_rules::kMiB, 2, 16 * platform_rules::kGiB, 300, platform_rules::kHbmPlacement,
     "SLR0", "SLR1"},
    {"u55c", "xilinx_u55c_gen3x16_xdma_3_202210_1", "xcu55c-fsvh2892-2L-e", 32,
     512 * platform_rules::kMiB, 0, 0, 300, platform_rules::kHbmPlacement, "SLR0", "SLR1"},
};

// The platform named `name` ("u280", "u55c"), or nullptr.
const PlatformSpec* FindPlatform(std::string_view name);

// One memory bank of a platform, in memory-topology order: HBM channels, then DDR banks.
struct PlatformBank {
  std::string tag;  // "HBM[3]", "DDR[0]": the name XRT and v++ use
  BankType type;
  uint64_t base_address;
  uint64_t bytes;
};
std::vector<PlatformBank> PlatformBanks(const PlatformSpec& platform);

// The banks the ports of `bundle` connect to, as indices into PlatformBanks(platform).
// NotFound when the platform has no rule for the bundle; OutOfRange when the rule names banks
// the platform lacks.
absl::StatusOr<std::vector<int>> BundleBanks(const PlatformSpec& platform, std::string_view bundle);

// The [connectivity] section of a v++ configuration for `profile` on `platform`, from the same
// rules: one compute unit per kernel ("nk="), each buffer argument's banks ("sp=") and each
// compute unit's SLR ("slr=").
absl::StatusOr<std::string> VppConnectivity(const PlatformSpec& platform, KernelProfile profile);

}  // namespace fabric

#endif  // FABRIC_DEVICE_XRT_PLATFORMS_H_
