#include "device/mock/mock_device.h"

#include <cstring>
#include <vector>

#include "device/mock/compute_units.h"
#include "device/mock/kernel_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/kernel_signatures.h"

namespace fabric {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<MockDevice> MakeDevice(MockDeviceOptions options = {}) {
  auto device = MockDevice::Create(std::move(options));
  EXPECT_TRUE(device.ok()) << device.status();
  return std::move(device).value();
}

std::span<const uint8_t> Bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float)};
}

TEST(KernelRegistryTest, EveryKernelInTheTableIsCompiledForTheMock) {
  for (const KernelSpec& spec : kKernelSpecs) {
    const MockKernel* kernel = FindMockKernel(spec.name);
    ASSERT_NE(kernel, nullptr) << spec.name;
    EXPECT_EQ(kernel->spec, &spec);
  }
  EXPECT_EQ(FindMockKernel("no_such_kernel"), nullptr);
}

TEST(MockDeviceTest, WriteThenReadRoundTrips) {
  auto device = MakeDevice();
  auto buffer = device->Allocate(40, "", MemoryKind::kActivations);
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  std::vector<float> data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  ASSERT_TRUE(device->Write(*buffer, 0, Bytes(data)).ok());
  std::vector<float> back(4);
  ASSERT_TRUE(device
                  ->Read(*buffer, 8,
                         {reinterpret_cast<uint8_t*>(back.data()), back.size() * sizeof(float)})
                  .ok());
  EXPECT_EQ(back, (std::vector<float>{3, 4, 5, 6}));
  EXPECT_EQ(device->stats().bytes_written, 40u);
  EXPECT_EQ(device->stats().bytes_read, 16u);
}

TEST(MockDeviceTest, OutOfRangeAccessIsAnError) {
  auto device = MakeDevice();
  BufferId buffer = *device->Allocate(16, "", MemoryKind::kActivations);
  std::vector<uint8_t> out(8);
  absl::Status status = device->Read(buffer, 12, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(), HasSubstr("outside buffer"));
  EXPECT_EQ(device->Read(buffer + 100, 0, out).code(), absl::StatusCode::kNotFound);
}

TEST(MockDeviceTest, CapacityIsEnforcedPerBankWithAClearError) {
  MockDeviceOptions options;
  options.name = "card7";
  options.banks = {{"HBM[0]", 1000}, {"DDR[0]", 5000}};
  auto device = MakeDevice(options);
  ASSERT_TRUE(device->Allocate(600, "HBM[0]", MemoryKind::kWeights).ok());
  absl::StatusOr<BufferId> too_big = device->Allocate(600, "HBM[0]", MemoryKind::kKvCache);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(too_big.status().message(), HasSubstr("card7"));
  EXPECT_THAT(too_big.status().message(), HasSubstr("HBM[0]"));
  EXPECT_THAT(too_big.status().message(), HasSubstr("600 of 1000"));
  EXPECT_TRUE(device->Allocate(4000, "DDR[0]", MemoryKind::kKvCache).ok());
  EXPECT_EQ(device->Allocate(1, "QSFP", MemoryKind::kKvCache).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MockDeviceTest, MemoryIsAccountedByKindAndReleasedOnFree) {
  auto device = MakeDevice();
  BufferId weights = *device->Allocate(1000, "", MemoryKind::kWeights);
  BufferId kv = *device->Allocate(300, "", MemoryKind::kKvCache);
  EXPECT_EQ(device->stats().memory_used(MemoryKind::kWeights), 1000u);
  EXPECT_EQ(device->stats().memory_used(MemoryKind::kKvCache), 300u);
  ASSERT_TRUE(device->Free(weights).ok());
  EXPECT_EQ(device->stats().memory_used(MemoryKind::kWeights), 0u);
  EXPECT_EQ(device->Free(weights).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(device->Free(kv).ok());
}

TEST(MockDeviceTest, LaunchSplitsTheRangeAcrossComputeUnits) {
  MockDeviceOptions options;
  options.compute_units = 3;
  auto device = MakeDevice(options);
  const int n = 1001;
  std::vector<float> x(n), delta(n);
  for (int i = 0; i < n; ++i) {
    x[i] = static_cast<float>(i);
    delta[i] = 0.5f * static_cast<float>(i);
  }
  BufferId bx = *device->Allocate(n * 4, "", MemoryKind::kActivations);
  BufferId bd = *device->Allocate(n * 4, "", MemoryKind::kActivations);
  ASSERT_TRUE(device->Write(bx, 0, Bytes(x)).ok());
  ASSERT_TRUE(device->Write(bd, 0, Bytes(delta)).ok());
  // Only elements [10, 990) are updated.
  std::vector<KernelArg> args = {BufferRef{bx}, BufferRef{bd}, int32_t{10}, int32_t{990}};
  absl::StatusOr<RunHandle> run = device->Launch("residual_add", args);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(device->Wait(*run, absl::Seconds(30)).ok());
  std::vector<float> out(n);
  ASSERT_TRUE(device->Read(bx, 0, {reinterpret_cast<uint8_t*>(out.data()), n * 4u}).ok());
  for (int i = 0; i < n; ++i) {
    const float expected = (i >= 10 && i < 990) ? 1.5f * static_cast<float>(i) : x[i];
    ASSERT_EQ(out[i], expected) << i;
  }
  EXPECT_EQ(device->stats().launches, 1u);
  EXPECT_EQ(device->Wait(*run, absl::Seconds(1)).code(), absl::StatusCode::kNotFound);
}

TEST(ComputeUnitsTest, SplitsWorkOnlyWhereEachPartGetsEnoughOfIt) {
  ComputeUnits units(3);
  const absl::Duration enough = ComputeUnits::kMinPartWork;
  EXPECT_EQ(units.PartsFor(1000, std::nullopt), 3);  // never seen: one part a unit
  EXPECT_EQ(units.PartsFor(2, std::nullopt), 2);     // no more parts than items
  EXPECT_EQ(units.PartsFor(0, std::nullopt), 0);
  EXPECT_EQ(units.PartsFor(1000, enough / 10), 1);  // too little to hand out
  EXPECT_EQ(units.PartsFor(1000, enough * 2.5), 2);
  EXPECT_EQ(units.PartsFor(1000, enough * 100), 3);
  EXPECT_EQ(units.PartsFor(2, enough * 100), 2);
  EXPECT_EQ(units.PartsFor(0, enough * 100), 0);
}

TEST(MockDeviceTest, BusyTimeCountsKernelTimeWithAnyNumberOfComputeUnits) {
  for (int units : {1, 2, 3}) {
    MockDeviceOptions options;
    options.compute_units = units;
    auto device = MakeDevice(options);
    const int n = 1 << 22;
    BufferId x = *device->Allocate(n * 4, "", MemoryKind::kActivations);
    BufferId d = *device->Allocate(n * 4, "", MemoryKind::kActivations);
    std::vector<KernelArg> args = {BufferRef{x}, BufferRef{d}, int32_t{0}, int32_t{n}};
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(device->Wait(*device->Launch("residual_add", args), absl::Seconds(30)).ok());
    }
    EXPECT_GT(device->stats().busy_seconds, 0) << units << " compute units";
  }
}

TEST(MockDeviceTest, BufferOffsetsAddressIntoABuffer) {
  auto device = MakeDevice();
  std::vector<float> x = {1, 1, 1, 1}, delta = {5, 6};
  BufferId bx = *device->Allocate(16, "", MemoryKind::kActivations);
  BufferId bd = *device->Allocate(8, "", MemoryKind::kActivations);
  ASSERT_TRUE(device->Write(bx, 0, Bytes(x)).ok());
  ASSERT_TRUE(device->Write(bd, 0, Bytes(delta)).ok());
  std::vector<KernelArg> args = {BufferRef{bx, 8}, BufferRef{bd}, int32_t{0}, int32_t{2}};
  ASSERT_TRUE(device->Wait(*device->Launch("residual_add", args), absl::Seconds(30)).ok());
  std::vector<float> out(4);
  ASSERT_TRUE(device->Read(bx, 0, {reinterpret_cast<uint8_t*>(out.data()), 16}).ok());
  EXPECT_EQ(out, (std::vector<float>{1, 1, 6, 7}));
}

TEST(MockDeviceTest, BadLaunchesAreRejectedWithTheArgumentNamed) {
  MockDeviceOptions options;
  options.kernels = {"residual_add"};
  auto device = MakeDevice(options);
  BufferId b = *device->Allocate(16, "", MemoryKind::kActivations);

  std::vector<KernelArg> wrong_kind = {BufferRef{b}, int32_t{1}, int32_t{0}, int32_t{1}};
  absl::StatusOr<RunHandle> run = device->Launch("residual_add", wrong_kind);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(run.status().message(), HasSubstr("argument delta must be buffer"));

  std::vector<KernelArg> too_few = {BufferRef{b}, BufferRef{b}};
  EXPECT_EQ(device->Launch("residual_add", too_few).status().code(),
            absl::StatusCode::kInvalidArgument);

  std::vector<KernelArg> bad_range = {BufferRef{b}, BufferRef{b}, int32_t{3}, int32_t{1}};
  EXPECT_EQ(device->Launch("residual_add", bad_range).status().code(),
            absl::StatusCode::kInvalidArgument);

  std::vector<KernelArg> unknown_buffer = {BufferRef{b + 9}, BufferRef{b}, int32_t{0},
                                           int32_t{1}};
  EXPECT_EQ(device->Launch("residual_add", unknown_buffer).status().code(),
            absl::StatusCode::kNotFound);

  std::vector<KernelArg> swiglu_args = {BufferRef{b}, BufferRef{b}, BufferRef{b}, int32_t{0},
                                        int32_t{1}};
  absl::StatusOr<RunHandle> absent = device->Launch("swiglu", swiglu_args);
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(absent.status().message(), HasSubstr("no kernel 'swiglu'"));
}

TEST(MockDeviceTest, ProfilesNamingUnknownKernelsAreRejected) {
  MockDeviceOptions options;
  options.kernels = {"matvec_f32", "flux_capacitor"};
  absl::StatusOr<std::unique_ptr<MockDevice>> device = MockDevice::Create(options);
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(device.status().message(), HasSubstr("flux_capacitor"));
}

}  // namespace
}  // namespace fabric
