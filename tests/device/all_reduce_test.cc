#include "device/all_reduce.h"

#include <memory>
#include <vector>

#include "device/mock/mock_device.h"
#include "gtest/gtest.h"

namespace fabric {
namespace {

std::vector<uint8_t> Bytes(const std::vector<float>& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  return {p, p + v.size() * sizeof(float)};
}

TEST(AllReduceTest, EveryCardGetsTheSameRankOrderedSum) {
  constexpr int kRanks = 3, kFloats = 5;
  std::vector<std::unique_ptr<DeviceWorker>> workers;
  std::vector<AllReduceMember> members;
  std::vector<BufferId> targets;
  for (int r = 0; r < kRanks; ++r) {
    MockDeviceOptions options;
    options.name = "card" + std::to_string(r);
    workers.push_back(std::make_unique<DeviceWorker>(std::move(MockDevice::Create(options)).value()));
    DeviceWorker& w = *workers.back();
    BufferId partial = *w.Allocate(kFloats * 4, "", MemoryKind::kActivations);
    BufferId scratch = *w.Allocate(kRanks * kFloats * 4, "", MemoryKind::kActivations);
    BufferId target = *w.Allocate(kFloats * 4, "", MemoryKind::kActivations);
    // Values whose float sum depends on the order: 1e8 + 1 - 1e8.
    std::vector<float> values(kFloats, r == 0 ? 1e8f : (r == 1 ? 1.0f : -1e8f));
    values[0] = static_cast<float>(r + 1);
    w.Write(partial, 0, Bytes(values));
    w.Write(target, 0, Bytes(std::vector<float>(kFloats, 0.5f)));
    members.push_back({&w, BufferRef{partial}, BufferRef{scratch}, kFloats * 4, BufferRef{target}});
    targets.push_back(target);
  }
  AllReduce all_reduce(kRanks, kFloats);
  for (int r = kRanks - 1; r >= 0; --r) {  // enqueue order must not matter
    EXPECT_EQ(all_reduce.Enqueue(r, members[r]), uint64_t{kRanks * kFloats * 4});
  }
  for (int r = 0; r < kRanks; ++r) {
    std::vector<float> out(kFloats);
    workers[r]->Read(targets[r], 0, {reinterpret_cast<uint8_t*>(out.data()), kFloats * 4});
    ASSERT_TRUE(workers[r]->Sync().ok());
    EXPECT_EQ(out[0], 0.5f + 1 + 2 + 3);
    // ((0.5 + 1e8) + 1) - 1e8 in float, the same on every card.
    EXPECT_EQ(out[1], ((0.5f + 1e8f) + 1.0f) + -1e8f) << "card " << r;
  }
}

}  // namespace
}  // namespace fabric
