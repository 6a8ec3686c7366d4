// XrtDevice launches under XRT's no-op shim with host emulation: real kernels computing the
// mock's numbers through the XRT code path, argument checks, timeouts, several compute units,
// and several cards driven from several threads.
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "device/device_worker.h"
#include "device/mock/mock_device.h"
#include "device/xrt/xrt_device.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/device/xrt/noop_environment.h"

namespace fabric {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using xrt_test::NoopCard;
using xrt_test::OpenNoopCard;

constexpr absl::Duration kForever = absl::InfiniteDuration();

std::span<const uint8_t> Bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float)};
}

std::vector<float> ReadFloats(Device& device, BufferId buffer, size_t offset, size_t count) {
  std::vector<float> out(count);
  absl::Status status =
      device.Read(buffer, offset, {reinterpret_cast<uint8_t*>(out.data()), count * 4});
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

std::vector<float> Random(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> v(count);
  for (float& x : v) x = uniform(rng);
  return v;
}

absl::Status LaunchAndWait(Device& device, std::string_view kernel, std::vector<KernelArg> args) {
  absl::StatusOr<RunHandle> run = device.Launch(kernel, args);
  if (!run.ok()) return run.status();
  return device.Wait(*run, kForever);
}

// out = w · x on `device`: w [n_out, n_in], x [n_tokens, n_in]. Returns out [n_tokens, n_out].
std::vector<float> Matvec(Device& device, const std::vector<float>& w, const std::vector<float>& x,
                          int n_tokens, int n_in, int n_out) {
  BufferId wb = *device.Allocate(w.size() * 4, "", MemoryKind::kWeights);
  BufferId xb = *device.Allocate(x.size() * 4, "", MemoryKind::kActivations);
  BufferId ob = *device.Allocate(size_t{4} * n_tokens * n_out, "", MemoryKind::kActivations);
  EXPECT_TRUE(device.Write(wb, 0, Bytes(w)).ok());
  EXPECT_TRUE(device.Write(xb, 0, Bytes(x)).ok());
  absl::Status status =
      LaunchAndWait(device, "matvec_f32",
                    {BufferRef{wb}, BufferRef{xb}, BufferRef{ob}, n_tokens, n_in, n_out, 0, n_out});
  EXPECT_TRUE(status.ok()) << status;
  return ReadFloats(device, ob, 0, size_t(n_tokens) * n_out);
}

class XrtLaunchTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { xrt_test::UseNoopXrt(); }

  std::unique_ptr<XrtDevice> Open(NoopCard card = {}) {
    card.platform = GetParam();
    absl::StatusOr<std::unique_ptr<XrtDevice>> device = OpenNoopCard(card);
    EXPECT_TRUE(device.ok()) << device.status();
    return device.ok() ? std::move(device).value() : nullptr;
  }
};

TEST_P(XrtLaunchTest, ResidualAddComputesThroughXrtAtBufferOffsets) {
  std::unique_ptr<XrtDevice> device = Open();
  ASSERT_NE(device, nullptr);
  BufferId x = *device->Allocate(64 * 4, "", MemoryKind::kActivations);
  BufferId delta = *device->Allocate(64 * 4, "", MemoryKind::kActivations);
  std::vector<float> xs(64), ds(64);
  for (int i = 0; i < 64; ++i) xs[i] = i, ds[i] = 1000 + i;
  ASSERT_TRUE(device->Write(x, 0, Bytes(xs)).ok());
  ASSERT_TRUE(device->Write(delta, 0, Bytes(ds)).ok());
  // x[16 + i] += delta[32 + i] for i in [2, 10): both arguments point into their buffers.
  ASSERT_TRUE(LaunchAndWait(*device, "residual_add",
                            {BufferRef{x, 16 * 4}, BufferRef{delta, 32 * 4}, 2, 10})
                  .ok());
  std::vector<float> back = ReadFloats(*device, x, 0, 64);
  for (int i = 0; i < 64; ++i) {
    const bool updated = i >= 18 && i < 26;
    EXPECT_EQ(back[i], updated ? i + 1000 + (i - 16 + 32) : i) << i;
  }
  const DeviceStats stats = device->stats();
  EXPECT_EQ(stats.launches, 1u);
  EXPECT_EQ(stats.launches_by_kernel.at("residual_add"), 1u);
  EXPECT_GT(stats.busy_seconds, 0);  // the host computed it
}

TEST_P(XrtLaunchTest, MatvecMatchesTheMockDeviceBitForBit) {
  std::unique_ptr<XrtDevice> device = Open({.profile = KernelProfile::kDecode});
  ASSERT_NE(device, nullptr);
  auto mock = MockDevice::Create({});
  ASSERT_TRUE(mock.ok());
  const int n_tokens = 3, n_in = 96, n_out = 40;
  const std::vector<float> w = Random(n_out * n_in, 1), x = Random(n_tokens * n_in, 2);
  const std::vector<float> on_xrt = Matvec(*device, w, x, n_tokens, n_in, n_out);
  const std::vector<float> on_mock = Matvec(**mock, w, x, n_tokens, n_in, n_out);
  ASSERT_EQ(on_xrt.size(), on_mock.size());
  EXPECT_EQ(std::memcmp(on_xrt.data(), on_mock.data(), on_xrt.size() * 4), 0);
  EXPECT_NE(on_xrt, std::vector<float>(on_xrt.size(), 0.0f));
}

TEST_P(XrtLaunchTest, WithoutEmulationTheNoopShimCompletesRunsWithoutComputing) {
  std::unique_ptr<XrtDevice> device = Open({.emulate = false});
  ASSERT_NE(device, nullptr);
  BufferId x = *device->Allocate(16, "", MemoryKind::kActivations);
  BufferId delta = *device->Allocate(16, "", MemoryKind::kActivations);
  ASSERT_TRUE(device->Write(delta, 0, Bytes({1, 2, 3, 4})).ok());
  ASSERT_TRUE(LaunchAndWait(*device, "residual_add", {BufferRef{x}, BufferRef{delta}, 0, 4}).ok());
  EXPECT_EQ(ReadFloats(*device, x, 0, 4), std::vector<float>(4, 0.0f));
  // The shim completes a run as it starts, so even a zero timeout finds it done.
  const std::vector<KernelArg> args = {BufferRef{x}, BufferRef{delta}, 0, 4};
  absl::StatusOr<RunHandle> run = device->Launch("residual_add", args);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(device->Wait(*run, absl::ZeroDuration()).ok());
  EXPECT_EQ(device->stats().launches, 2u);
}

TEST_P(XrtLaunchTest, ArgumentsAreCheckedAgainstTheSignature) {
  std::unique_ptr<XrtDevice> device = Open({.profile = KernelProfile::kPrefill});
  ASSERT_NE(device, nullptr);
  BufferId buffer = *device->Allocate(64, "", MemoryKind::kActivations);
  absl::StatusOr<RunHandle> missing = device->Launch("matvec_f32", {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("has no kernel 'matvec_f32'"));
  std::vector<KernelArg> too_few = {BufferRef{buffer}, 0, 4};
  EXPECT_EQ(device->Launch("residual_add", too_few).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<KernelArg> wrong_kind = {BufferRef{buffer}, 1.5f, 0, 4};
  absl::StatusOr<RunHandle> wrong = device->Launch("residual_add", wrong_kind);
  EXPECT_THAT(wrong.status().message(), HasSubstr("argument delta must be buffer, got float"));
  std::vector<KernelArg> past_end = {BufferRef{buffer, 65}, BufferRef{buffer}, 0, 4};
  EXPECT_EQ(device->Launch("residual_add", past_end).status().code(),
            absl::StatusCode::kOutOfRange);
  std::vector<KernelArg> bad_range = {BufferRef{buffer}, BufferRef{buffer}, 4, 2};
  EXPECT_EQ(device->Launch("residual_add", bad_range).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(device->Wait(12345, kForever).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(device->stats().launches, 0u);
}

TEST_P(XrtLaunchTest, ABufferInABankItsPortDoesNotReachIsRefused) {
  std::unique_ptr<XrtDevice> device = Open();
  ASSERT_NE(device, nullptr);
  BufferId w = *device->Allocate(64 * 4, "", MemoryKind::kWeights);
  BufferId x = *device->Allocate(64 * 4, "", MemoryKind::kActivations);
  BufferId out = *device->Allocate(64 * 4, "HBM[5]", MemoryKind::kActivations);
  const std::vector<KernelArg> args = {BufferRef{w}, BufferRef{x}, BufferRef{out}, 1, 8, 8, 0, 8};
  absl::StatusOr<RunHandle> run = device->Launch("matvec_f32", args);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(run.status().message(),
              AllOf(HasSubstr("kernel matvec_f32 argument out"), HasSubstr("bank HBM[5]"),
                    HasSubstr("connects it to HBM[0], HBM[1])")));
}

// A run held unfinished (its emulation blocks until released) times out deterministically and
// stays waitable.
TEST_P(XrtLaunchTest, AnUnfinishedRunTimesOutAndStaysWaitable) {
  absl::Notification release;
  std::unique_ptr<XrtDevice> device = Open(
      {.before_emulated_run = [&release](std::string_view) { release.WaitForNotification(); }});
  ASSERT_NE(device, nullptr);
  BufferId x = *device->Allocate(16, "", MemoryKind::kActivations);
  BufferId delta = *device->Allocate(16, "", MemoryKind::kActivations);
  ASSERT_TRUE(device->Write(delta, 0, Bytes({1, 2, 3, 4})).ok());
  const std::vector<KernelArg> args = {BufferRef{x}, BufferRef{delta}, 0, 4};
  absl::StatusOr<RunHandle> run = device->Launch("residual_add", args);
  ASSERT_TRUE(run.ok()) << run.status();
  absl::Status waited = device->Wait(*run, absl::Milliseconds(5));
  EXPECT_EQ(waited.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(waited.message(), AllOf(HasSubstr("xrt0"), HasSubstr("residual_add"),
                                      HasSubstr("has not finished after 5ms")));
  release.Notify();
  ASSERT_TRUE(device->Wait(*run, kForever).ok());
  EXPECT_EQ(ReadFloats(*device, x, 0, 4), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(device->Wait(*run, kForever).code(), absl::StatusCode::kNotFound);
}

TEST_P(XrtLaunchTest, ALaunchIsSplitOverTheKernelsComputeUnits) {
  XclbinDesign design = FabricDesign(*FindPlatform(GetParam()), KernelProfile::kUnified);
  for (XclbinKernel& kernel : design.kernels) kernel.compute_units = 3;
  XrtDeviceOptions options;
  options.xclbin_path = xrt_test::XclbinFile(GetParam() + "_three_cus.xclbin", design);
  options.emulate_kernels_on_host = true;
  absl::StatusOr<std::unique_ptr<XrtDevice>> device = XrtDevice::Open(options);
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ((*device)->info().compute_units, 3);
  const int n = 10;
  BufferId x = *(*device)->Allocate(n * 4, "", MemoryKind::kActivations);
  BufferId delta = *(*device)->Allocate(n * 4, "", MemoryKind::kActivations);
  std::vector<float> ds(n);
  for (int i = 0; i < n; ++i) ds[i] = i * 10;
  ASSERT_TRUE((*device)->Write(delta, 0, Bytes(ds)).ok());
  ASSERT_TRUE(LaunchAndWait(**device, "residual_add", {BufferRef{x}, BufferRef{delta}, 0, n}).ok());
  EXPECT_EQ(ReadFloats(**device, x, 0, n), ds);
  EXPECT_EQ((*device)->stats().launches, 1u);
}

TEST_P(XrtLaunchTest, ACardWorksBehindItsDeviceWorker) {
  std::unique_ptr<XrtDevice> device = Open();
  ASSERT_NE(device, nullptr);
  DeviceWorker worker(std::move(device));
  BufferId x = *worker.Allocate(16, "", MemoryKind::kActivations);
  BufferId delta = *worker.Allocate(16, "", MemoryKind::kActivations);
  const std::vector<float> ones = {1, 1, 1, 1};
  worker.Write(delta, 0, Bytes(ones));
  for (int i = 0; i < 5; ++i) worker.Launch("residual_add", {BufferRef{x}, BufferRef{delta}, 0, 4});
  std::vector<float> back(4);
  worker.Read(x, 0, {reinterpret_cast<uint8_t*>(back.data()), 16});
  ASSERT_TRUE(worker.Sync().ok());
  EXPECT_EQ(back, std::vector<float>(4, 5.0f));
  EXPECT_EQ(worker.stats().launches_by_kernel.at("residual_add"), 5u);
}

// Several noop cards, each opened, driven and closed by its own thread at the same time.
TEST_P(XrtLaunchTest, SeveralCardsFromSeveralThreadsComputeIndependently) {
  constexpr int kCards = 4, kSteps = 20;
  std::vector<std::vector<float>> results(kCards);
  std::vector<std::thread> threads;
  for (int card = 0; card < kCards; ++card) {
    threads.emplace_back([&, card] {
      std::unique_ptr<XrtDevice> device = Open({.index = card});
      ASSERT_NE(device, nullptr);
      BufferId x = *device->Allocate(8 * 4, "", MemoryKind::kActivations);
      BufferId delta = *device->Allocate(8 * 4, "", MemoryKind::kActivations);
      ASSERT_TRUE(device->Write(delta, 0, Bytes(std::vector<float>(8, card + 1.0f))).ok());
      for (int step = 0; step < kSteps; ++step) {
        ASSERT_TRUE(
            LaunchAndWait(*device, "residual_add", {BufferRef{x}, BufferRef{delta}, 0, 8}).ok());
      }
      results[card] = ReadFloats(*device, x, 0, 8);
      EXPECT_EQ(device->stats().launches, static_cast<uint64_t>(kSteps));
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int card = 0; card < kCards; ++card) {
    EXPECT_EQ(results[card], std::vector<float>(8, kSteps * (card + 1.0f))) << card;
  }
}

INSTANTIATE_TEST_SUITE_P(xrt, XrtLaunchTest, ::testing::Values("u280", "u55c"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fabric
