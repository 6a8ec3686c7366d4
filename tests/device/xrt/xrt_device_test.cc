// XrtDevice under XRT's no-op shim: opening cards, loading and checking xclbins, bank placement
// and buffer round trips, on each platform. Launches are in xrt_launch_test.cc.
#include "device/xrt/xrt_device.h"

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/kernel_profiles.h"
#include "tests/device/xrt/noop_environment.h"

namespace fabric {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;
using xrt_test::NoopCard;
using xrt_test::OpenNoopCard;

std::vector<std::string> Strings(std::span<const std::string_view> names) {
  return {names.begin(), names.end()};
}

class XrtDeviceTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { xrt_test::UseNoopXrt(); }

  const PlatformSpec& platform() const { return *FindPlatform(GetParam()); }

  std::unique_ptr<XrtDevice> Open(NoopCard card = {}) {
    card.platform = GetParam();
    absl::StatusOr<std::unique_ptr<XrtDevice>> device = OpenNoopCard(card);
    EXPECT_TRUE(device.ok()) << device.status();
    return device.ok() ? std::move(device).value() : nullptr;
  }

  // Opens card 0 with `design` written as `file`.
  absl::StatusOr<std::unique_ptr<XrtDevice>> OpenDesign(const std::string& file,
                                                        const XclbinDesign& design) {
    XrtDeviceOptions options;
    options.xclbin_path = xrt_test::XclbinFile(GetParam() + "_" + file, design);
    return XrtDevice::Open(options);
  }
};

TEST_P(XrtDeviceTest, OpensACardAndLoadsItsXclbin) {
  std::unique_ptr<XrtDevice> device = Open();
  ASSERT_NE(device, nullptr);
  const DeviceInfo& info = device->info();
  EXPECT_EQ(info.name, "xrt0");
  EXPECT_EQ(info.kind, "xrt");
  EXPECT_EQ(info.kernels, Strings(ProfileKernels(KernelProfile::kUnified)));
  EXPECT_EQ(info.compute_units, 1);
  // The banks the xclbin uses: every HBM channel (the rule connects them all), no DDR.
  ASSERT_EQ(info.banks.size(), 32u);
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(info.banks[i].name, "HBM[" + std::to_string(i) + "]");
    EXPECT_EQ(info.banks[i].capacity_bytes, platform().hbm_channel_bytes);
  }
}

TEST_P(XrtDeviceTest, EachProfileOffersItsKernels) {
  for (KernelProfile profile : {KernelProfile::kPrefill, KernelProfile::kDecode}) {
    std::unique_ptr<XrtDevice> device = Open({.profile = profile});
    ASSERT_NE(device, nullptr);
    EXPECT_EQ(device->info().kernels, Strings(ProfileKernels(profile))) << ProfileName(profile);
  }
}

// The no-op shim opens any index (it reports 0 cards to enumerate_devices, yet xclOpen
// succeeds for every index): each is a separate card with its own buffers.
TEST_P(XrtDeviceTest, TheNoopShimOpensAnyCardIndex) {
  for (int index : {0, 1, 7, 63, 1000}) {
    std::unique_ptr<XrtDevice> device = Open({.index = index});
    ASSERT_NE(device, nullptr) << index;
    EXPECT_EQ(device->info().name, "xrt" + std::to_string(index));
  }
}

TEST_P(XrtDeviceTest, NameAndSensorsAreAbsentWhenXrtDoesNotReportThem) {
  std::unique_ptr<XrtDevice> device = Open();
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(device->info().product, "");
  const CardSensors sensors = device->sensors();
  EXPECT_FALSE(sensors.fpga_celsius.has_value());
  EXPECT_FALSE(sensors.power_watts.has_value());
}

TEST_P(XrtDeviceTest, AMissingCardIsAnErrorNamingItXrtsMessageAndWhatToCheck) {
  XrtDeviceOptions options;
  options.card = "0000:3b:00.1";
  options.xclbin_path = xrt_test::XclbinFile(GetParam() + "_unified.xclbin",
                                             FabricDesign(platform(), KernelProfile::kUnified));
  absl::StatusOr<std::unique_ptr<XrtDevice>> device = XrtDevice::Open(options);
  EXPECT_EQ(device.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(
      device.status().message(),
      AllOf(HasSubstr("xrt card '0000:3b:00.1'"), HasSubstr("XRT: "),
            HasSubstr("XRT sees 0 card(s)"), HasSubstr("xbutil examine"), HasSubstr("XILINX_XRT")));
}

TEST_P(XrtDeviceTest, ACardThatIsNeitherAnIndexNorAPcieAddressIsRefusedBeforeXrt) {
  for (const char* card : {"card-zero", "3b:00.1", "99999999999", ""}) {
    XrtDeviceOptions options;
    options.card = card;
    options.xclbin_path = xrt_test::XclbinFile(GetParam() + "_unified.xclbin",
                                               FabricDesign(platform(), KernelProfile::kUnified));
    absl::StatusOr<std::unique_ptr<XrtDevice>> device = XrtDevice::Open(options);
    EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument) << card;
    EXPECT_THAT(device.status().message(),
                HasSubstr("not a card index or a PCIe address such as 0000:3b:00.1"))
        << card;
  }
}

TEST_P(XrtDeviceTest, AMissingXclbinIsAnErrorNamingTheFileAndTheCard) {
  XrtDeviceOptions options;
  options.card = "3";
  options.xclbin_path = "/nonexistent/fabric.xclbin";
  absl::StatusOr<std::unique_ptr<XrtDevice>> device = XrtDevice::Open(options);
  EXPECT_EQ(device.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(device.status().message(),
              AllOf(HasSubstr("xrt3"), HasSubstr("no xclbin file '/nonexistent/fabric.xclbin'")));
}

TEST_P(XrtDeviceTest, AFileThatIsNoXclbinIsRefusedWithXrtsMessage) {
  XrtDeviceOptions options;
  options.xclbin_path = xrt_test::ScratchFile("garbage.xclbin", std::string(600, 'x'));
  absl::StatusOr<std::unique_ptr<XrtDevice>> device = XrtDevice::Open(options);
  EXPECT_EQ(device.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(device.status().message(),
              AllOf(HasSubstr("garbage.xclbin"), HasSubstr("XRT: Invalid xclbin")));
}

TEST_P(XrtDeviceTest, AnArgumentOfTheWrongKindIsRefusedNamingKernelAndArgument) {
  XclbinDesign design = FabricDesign(platform(), KernelProfile::kUnified);
  for (XclbinKernel& kernel : design.kernels) {
    if (kernel.name == "residual_add") kernel.args[1] = {"delta", ArgKind::kInt, ""};
  }
  absl::StatusOr<std::unique_ptr<XrtDevice>> device = OpenDesign("wrong_kind.xclbin", design);
  EXPECT_EQ(device.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(device.status().message(),
              AllOf(HasSubstr("kernel residual_add argument 1 'delta'"),
                    HasSubstr("is int ('int') in the xclbin, buffer in Fabric's signature")));
}

TEST_P(XrtDeviceTest, AMissingArgumentIsRefusedNamingKernelAndArgument) {
  XclbinDesign design = FabricDesign(platform(), KernelProfile::kUnified);
  for (XclbinKernel& kernel : design.kernels) {
    if (kernel.name == "matvec_f32") kernel.args.pop_back();
  }
  absl::StatusOr<std::unique_ptr<XrtDevice>> device = OpenDesign("short.xclbin", design);
  EXPECT_EQ(device.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(device.status().message(),
              AllOf(HasSubstr("kernel matvec_f32 has 7 arguments in the xclbin, 8 in Fabric's"),
                    HasSubstr("argument 7 'end' is missing from the xclbin")));
}

TEST_P(XrtDeviceTest, KernelsFabricDoesNotKnowAreIgnored) {
  XclbinDesign design = FabricDesign(platform(), KernelProfile::kDecode);
  design.kernels.push_back({"vendor_crc", {{"data", ArgKind::kBuffer, "gmem_in"}}, 1});
  absl::StatusOr<std::unique_ptr<XrtDevice>> device = OpenDesign("extra.xclbin", design);
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ((*device)->info().kernels, Strings(ProfileKernels(KernelProfile::kDecode)));
}

TEST_P(XrtDeviceTest, EmulationIsOnlyForTheNoopShim) {
  const std::string mode = std::getenv("XCL_EMULATION_MODE");
  unsetenv("XCL_EMULATION_MODE");  // refused before any XRT call
  absl::StatusOr<std::unique_ptr<XrtDevice>> device = OpenNoopCard({.platform = GetParam()});
  setenv("XCL_EMULATION_MODE", mode.c_str(), 1);
  EXPECT_EQ(device.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(device.status().message(), HasSubstr("XCL_EMULATION_MODE=noop"));
}

TEST_P(XrtDeviceTest, BuffersLandInTheBanksTheConnectivityGivesTheirKind) {
  std::unique_ptr<XrtDevice> device = Open();
  ASSERT_NE(device, nullptr);
  std::set<std::string> weight_banks;
  for (int i = 0; i < 4; ++i) {
    BufferId weights = *device->Allocate(1000, "", MemoryKind::kWeights);
    const std::string bank = *device->BankOf(weights);
    EXPECT_THAT(*device->ArgumentBanks("matvec_f32", "w"), Contains(bank));
    EXPECT_THAT(*device->ArgumentBanks("rmsnorm", "weight"), Contains(bank));
    weight_banks.insert(bank);
  }
  EXPECT_EQ(weight_banks.size(), 4u);  // spread: each goes to the freest channel
  std::vector<std::string> weight_reach;
  for (int i = 0; i < 26; ++i) weight_reach.push_back("HBM[" + std::to_string(i) + "]");
  EXPECT_EQ(*device->ArgumentBanks("matvec_f32", "w"), weight_reach);
  // Weights keep off the activation channels their ports also reach.
  for (const std::string& bank : weight_banks) {
    EXPECT_THAT(*device->ArgumentBanks("matvec_f32", "x"), Not(Contains(bank)));
  }
  const std::string kv = *device->BankOf(*device->Allocate(1000, "", MemoryKind::kKvCache));
  EXPECT_THAT(*device->ArgumentBanks("attention", "k_cache"), Contains(kv));
  EXPECT_THAT(*device->ArgumentBanks("kv_store", "v_cache"), Contains(kv));
  const std::string act = *device->BankOf(*device->Allocate(1000, "", MemoryKind::kActivations));
  for (const auto& [kernel, arg] : std::vector<std::pair<std::string, std::string>>{
           {"matvec_f32", "x"}, {"matvec_f32", "out"}, {"gather_f32", "rows"}, {"rope", "k"}}) {
    EXPECT_THAT(*device->ArgumentBanks(kernel, arg), Contains(act)) << kernel << " " << arg;
  }
  EXPECT_EQ(*device->ArgumentBanks("swiglu", "gate"),
            (std::vector<std::string>{"HBM[0]", "HBM[1]"}));
  // gather_f32 gathers logit rows out of activations through its weight port.
  EXPECT_THAT(*device->ArgumentBanks("gather_f32", "table"), Contains(act));
}

TEST_P(XrtDeviceTest, ANamedBankIsUsedAndCapacityIsEnforcedWithAClearError) {
  std::unique_ptr<XrtDevice> device = Open({.index = 5});
  ASSERT_NE(device, nullptr);
  BufferId buffer = *device->Allocate(4096, "HBM[5]", MemoryKind::kWeights);
  EXPECT_EQ(*device->BankOf(buffer), "HBM[5]");
  const uint64_t channel = platform().hbm_channel_bytes;
  absl::StatusOr<BufferId> too_big = device->Allocate(channel, "HBM[5]", MemoryKind::kWeights);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(too_big.status().message(), AllOf(HasSubstr("xrt5"), HasSubstr("HBM[5]"),
                                                HasSubstr("4096 of " + std::to_string(channel))));
  EXPECT_EQ(device->Allocate(channel + 1, "", MemoryKind::kKvCache).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(device->Allocate(16, "DDR[0]", MemoryKind::kWeights).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(XrtDeviceTest, WritesAndReadsRoundTripAtOffsets) {
  std::unique_ptr<XrtDevice> device = Open();
  ASSERT_NE(device, nullptr);
  BufferId buffer = *device->Allocate(100, "", MemoryKind::kActivations);
  std::vector<uint8_t> zeros(100, 0xff);
  ASSERT_TRUE(device->Read(buffer, 0, zeros).ok());
  EXPECT_EQ(zeros, std::vector<uint8_t>(100, 0));  // card memory starts zeroed
  std::vector<uint8_t> data(60);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i + 1);
  ASSERT_TRUE(device->Write(buffer, 40, data).ok());
  std::vector<uint8_t> back(20);
  ASSERT_TRUE(device->Read(buffer, 50, back).ok());
  EXPECT_THAT(back, ElementsAreArray(data.begin() + 10, data.begin() + 30));
  std::vector<uint8_t> out(8);
  absl::Status past_end = device->Read(buffer, 96, out);
  EXPECT_EQ(past_end.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(past_end.message(), HasSubstr("outside buffer"));
  EXPECT_EQ(device->Write(buffer + 100, 0, out).code(), absl::StatusCode::kNotFound);
  const DeviceStats stats = device->stats();
  EXPECT_EQ(stats.bytes_written, 60u);
  EXPECT_EQ(stats.bytes_read, 120u);
}

TEST_P(XrtDeviceTest, MemoryIsAccountedByKindAndReleasedOnFree) {
  std::unique_ptr<XrtDevice> device = Open();
  ASSERT_NE(device, nullptr);
  BufferId weights = *device->Allocate(1000, "", MemoryKind::kWeights);
  BufferId kv = *device->Allocate(300, "", MemoryKind::kKvCache);
  EXPECT_EQ(device->stats().memory_used(MemoryKind::kWeights), 1000u);
  EXPECT_EQ(device->stats().memory_used(MemoryKind::kKvCache), 300u);
  ASSERT_TRUE(device->Free(weights).ok());
  EXPECT_EQ(device->stats().memory_used(MemoryKind::kWeights), 0u);
  EXPECT_EQ(device->Free(weights).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(device->Free(kv).ok());
  EXPECT_EQ(device->stats().memory_used(MemoryKind::kKvCache), 0u);
}

INSTANTIATE_TEST_SUITE_P(xrt, XrtDeviceTest, ::testing::Values("u280", "u55c"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fabric
