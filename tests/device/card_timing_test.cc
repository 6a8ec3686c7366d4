// Timing emulation on mock cards: the planner prices each launch from its real arguments
// (attended keys read from the positions buffer), busy time is the emulated time, results
// reach the host no earlier than the emulated card's clock, and the CPU falling behind is
// counted. Only lower bounds on elapsed time are checked: a loaded host is only ever slower.
#include "device/mock/card_timing.h"

#include <chrono>
#include <memory>
#include <vector>

#include "device/mock/mock_device.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "planner/cluster_model.h"
#include "planner/kernel_timing.h"

namespace fabric {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using Clock = std::chrono::steady_clock;

// Four tokens at these positions; each attends its position + 1 keys.
const std::vector<int32_t> kPositions = {5, 9, 2, 7};

// A mock card timed by `timing`, with a zeroed buffer of `floats` floats per name.
class TimedCard {
 public:
  explicit TimedCard(CardTiming timing, int compute_units = 1) {
    MockDeviceOptions options;
    options.name = "card0";
    options.compute_units = compute_units;
    options.timing = std::move(timing);
    device_ = std::move(MockDevice::Create(std::move(options))).value();
  }

  BufferRef Zeros(size_t floats) {
    return BufferRef{*device_->Allocate(floats * sizeof(float), "", MemoryKind::kActivations)};
  }
  BufferRef Ints(const std::vector<int32_t>& values) {
    const BufferRef ref = Zeros(values.size());
    EXPECT_TRUE(device_
                    ->Write(ref.buffer, 0,
                            {reinterpret_cast<const uint8_t*>(values.data()),
                             values.size() * sizeof(int32_t)})
                    .ok());
    return ref;
  }
  absl::Status Run(std::string_view kernel, std::vector<KernelArg> args) {
    absl::StatusOr<RunHandle> run = device_->Launch(kernel, args);
    if (!run.ok()) return run.status();
    return device_->Wait(*run, absl::Seconds(30));
  }
  MockDevice& device() { return *device_; }

 private:
  std::unique_ptr<MockDevice> device_;
};

// The planner's U280 timing of the decode bitstream, remembering every launch it priced.
CardTiming RecordingU280(std::vector<planner::KernelLaunch>* priced) {
  CardTiming timing = *PlannerTiming(*planner::FindCard("u280"), KernelProfile::kDecode);
  timing.launch_seconds = [planner_time = timing.launch_seconds,
                           priced](const planner::KernelLaunch& launch) {
    priced->push_back(launch);
    return planner_time(launch);
  };
  return timing;
}

double PlannerSeconds(const planner::KernelLaunch& launch) {
  return planner::PredictLaunch(launch, *planner::FindCard("u280"), KernelProfile::kDecode)
      ->seconds();
}

TEST(CardTimingTest, AttentionIsPricedForTheKeysItsItemsAttend) {
  std::vector<planner::KernelLaunch> priced;
  TimedCard card(RecordingU280(&priced));
  const int heads = 4, kv_heads = 2, head_dim = 8, block_size = 16;
  // Items 3..12 of (token, head) pairs: token 0's last head, tokens 1 and 2 whole, token 3's
  // first head.
  ASSERT_TRUE(card.Run("attention", {card.Zeros(4 * heads * head_dim),
                                     card.Zeros(block_size * kv_heads * head_dim),
                                     card.Zeros(block_size * kv_heads * head_dim),
                                     card.Ints({0}), card.Ints({0, 0, 0, 0}),
                                     card.Ints(kPositions), card.Zeros(4 * heads * head_dim),
                                     heads, kv_heads, head_dim, block_size, 1, 3, 13})
                  .ok());
  ASSERT_EQ(priced.size(), 1u);
  EXPECT_EQ(priced[0].kernel, "attention");
  EXPECT_EQ(priced[0].attended_keys, 6 + 4 * 10 + 4 * 3 + 8);
  EXPECT_THAT(priced[0].ints,
              UnorderedElementsAre(Pair("n_heads", heads), Pair("n_kv_heads", kv_heads),
                                   Pair("head_dim", head_dim), Pair("block_size", block_size),
                                   Pair("max_blocks", 1), Pair("begin", 3), Pair("end", 13)));
  // Busy time is exactly what the planner says the launch takes on a U280.
  EXPECT_DOUBLE_EQ(card.device().stats().busy_seconds, PlannerSeconds(priced[0]));
  EXPECT_EQ(card.device().info().emulates, "u280");
}

TEST(CardTimingTest, FusedDecodeAttentionIsPricedPerToken) {
  std::vector<planner::KernelLaunch> priced;
  TimedCard card(RecordingU280(&priced));
  const int dim = 64, heads = 8, kv_heads = 4, head_dim = 8, block_size = 16, tokens = 3;
  const int kv_dim = kv_heads * head_dim;
  ASSERT_TRUE(card.Run("decode_attention_f32",
                       {card.Zeros(tokens * dim), card.Zeros(dim), card.Zeros(dim * dim),
                        card.Zeros(kv_dim * dim), card.Zeros(kv_dim * dim), card.Zeros(dim * dim),
                        card.Zeros(block_size * kv_dim), card.Zeros(block_size * kv_dim),
                        card.Ints({0, 0, 0}), card.Ints({0, 1, 2}), card.Ints(kPositions),
                        card.Ints({5, 9, 2}), card.Zeros(tokens * dim), dim, heads, kv_heads,
                        head_dim, 1e-5f, 10000.0f, block_size, 1, 1, 0, tokens})
                  .ok());
  ASSERT_EQ(priced.size(), 1u);
  EXPECT_EQ(priced[0].attended_keys, 6 + 10 + 3);
  EXPECT_DOUBLE_EQ(card.device().stats().busy_seconds, PlannerSeconds(priced[0]));
  EXPECT_GE(card.device().stats().busy_seconds, 1000 / 300e6 + 10e-6);  // the fixed costs
}

TEST(CardTimingTest, APositionsBufferShorterThanTheLaunchIsRefused) {
  std::vector<planner::KernelLaunch> priced;
  TimedCard card(RecordingU280(&priced));
  absl::Status status = card.Run(
      "attention", {card.Zeros(64), card.Zeros(64), card.Zeros(64), card.Ints({0}),
                    card.Ints({0, 0, 0, 0, 0}), card.Ints({1, 2}), card.Zeros(64), 2, 2, 8, 16, 1,
                    0, 10});
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(), HasSubstr("need 5 positions, the buffer holds 2"));
  EXPECT_TRUE(priced.empty());
}

// A fixed launch and transfer time, far longer than the CPU takes for a small kernel.
CardTiming Fixed(double launch, double transfer) {
  return {.card = "slow-card",
          .launch_seconds = [launch](const planner::KernelLaunch&) { return launch; },
          .transfer_seconds = [transfer](uint64_t) { return transfer; }};
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST(CardTimingTest, ResultsReachTheHostNoEarlierThanTheCardsClock) {
  TimedCard card(Fixed(0.03, 0.01));
  const BufferRef x = card.Zeros(256), delta = card.Zeros(256);
  std::vector<uint8_t> out(16);
  const Clock::time_point start = Clock::now();
  // Two launches of 30 ms back to back, then a 10 ms read: the read ends 70 ms after start.
  ASSERT_TRUE(card.Run("residual_add", {x, delta, 0, 256}).ok());
  ASSERT_TRUE(card.Run("residual_add", {x, delta, 0, 256}).ok());
  ASSERT_TRUE(card.device().Read(x.buffer, 0, out).ok());
  EXPECT_GE(SecondsSince(start), 0.07);
  const DeviceStats stats = card.device().stats();
  EXPECT_DOUBLE_EQ(stats.busy_seconds, 0.06);
  const EmulationStats emulation = card.device().stats().emulation.value();
  EXPECT_EQ(emulation.launches, 2u);
  EXPECT_EQ(emulation.transfers, 1u);  // Zeros allocates zeroed memory, writing nothing
  EXPECT_DOUBLE_EQ(emulation.transfer_seconds, 0.01);
}

TEST(CardTimingTest, AWriteOccupiesTheCardBeforeTheNextRead) {
  TimedCard card(Fixed(0, 0.02));
  const BufferRef x = card.Zeros(4);
  std::vector<uint8_t> bytes(16);
  const Clock::time_point start = Clock::now();
  ASSERT_TRUE(card.device().Write(x.buffer, 0, bytes).ok());
  ASSERT_TRUE(card.device().Read(x.buffer, 0, bytes).ok());
  EXPECT_GE(SecondsSince(start), 0.04);
}

TEST(CardTimingTest, LaunchesTheCpuFinishesLateAreCountedAsOverruns) {
  TimedCard card(Fixed(0, 0));  // a card that takes no time: the CPU is always later
  const BufferRef x = card.Zeros(1 << 16), delta = card.Zeros(1 << 16);
  ASSERT_TRUE(card.Run("residual_add", {x, delta, 0, 1 << 16}).ok());
  const EmulationStats emulation = card.device().stats().emulation.value();
  EXPECT_EQ(emulation.overruns, 1u);
  EXPECT_GT(emulation.overrun_seconds, 0);
  EXPECT_EQ(card.device().stats().busy_seconds, 0);
}

TEST(CardTimingTest, AnUntimedCardKeepsNoEmulationFigures) {
  auto device = std::move(MockDevice::Create({})).value();
  EXPECT_EQ(device->info().emulates, "");
  BufferId x = *device->Allocate(64, "", MemoryKind::kActivations);
  std::vector<uint8_t> bytes(64);
  ASSERT_TRUE(device->Write(x, 0, bytes).ok());
  EXPECT_FALSE(device->stats().emulation.has_value());
}

TEST(CardTimingTest, PlannerTimingPricesTransfersOnTheCardsPcieLink) {
  const planner::CardSpec u280 = *planner::FindCard("u280");
  absl::StatusOr<CardTiming> timing = PlannerTiming(u280, KernelProfile::kUnified);
  ASSERT_TRUE(timing.ok()) << timing.status();
  EXPECT_EQ(timing->card, "u280");
  const planner::Link link = *planner::DefaultLink(planner::LinkKind::kPcie, {u280});
  EXPECT_DOUBLE_EQ(timing->transfer_seconds(2048),
                   link.latency_seconds + 2048 / link.bytes_per_second);
  planner::CardSpec no_pcie = u280;
  no_pcie.pcie_lanes = 0;
  EXPECT_FALSE(PlannerTiming(no_pcie, KernelProfile::kUnified).ok());
}

}  // namespace
}  // namespace fabric
