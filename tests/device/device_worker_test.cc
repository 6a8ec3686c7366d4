#include "device/device_worker.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "device/mock/mock_device.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fabric {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<DeviceWorker> MakeWorker(std::string name, int compute_units = 1) {
  MockDeviceOptions options;
  options.name = std::move(name);
  options.compute_units = compute_units;
  return std::make_unique<DeviceWorker>(std::move(MockDevice::Create(options)).value());
}

std::vector<uint8_t> FloatBytes(const std::vector<float>& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  return {p, p + v.size() * sizeof(float)};
}

TEST(DeviceWorkerTest, CommandsRunInSubmissionOrder) {
  auto worker = MakeWorker("mock0", 2);
  BufferId x = *worker->Allocate(4 * 64, "", MemoryKind::kActivations);
  BufferId d = *worker->Allocate(4 * 64, "", MemoryKind::kActivations);
  worker->Write(x, 0, FloatBytes(std::vector<float>(64, 1.0f)));
  worker->Write(d, 0, FloatBytes(std::vector<float>(64, 2.0f)));
  // Three dependent launches: each must see the previous one's result.
  for (int i = 0; i < 3; ++i) {
    worker->Launch("residual_add", {BufferRef{x}, BufferRef{d}, int32_t{0}, int32_t{64}});
  }
  std::vector<float> out(64);
  worker->Read(x, 0, {reinterpret_cast<uint8_t*>(out.data()), 256});
  ASSERT_TRUE(worker->Sync().ok());
  EXPECT_EQ(out, std::vector<float>(64, 7.0f));
  EXPECT_EQ(worker->stats().launches, 3u);
}

TEST(DeviceWorkerTest, AFailedCommandSkipsTheRestUntilSync) {
  auto worker = MakeWorker("mock3");
  BufferId x = *worker->Allocate(16, "", MemoryKind::kActivations);
  std::atomic<int> ran_after_failure = 0;
  worker->Launch("no_such_kernel", {});
  worker->Enqueue([&](Device&) {
    ++ran_after_failure;
    return absl::OkStatus();
  });
  absl::Status status = worker->Sync();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("mock3"));
  EXPECT_EQ(ran_after_failure.load(), 0);
  // The error is reported once; the worker then runs commands again.
  worker->Write(x, 0, FloatBytes({1, 2, 3, 4}));
  EXPECT_TRUE(worker->Sync().ok());
}

TEST(DeviceWorkerTest, CardsWorkConcurrentlyFromSeveralThreads) {
  std::vector<std::unique_ptr<DeviceWorker>> workers;
  for (int i = 0; i < 4; ++i) workers.push_back(MakeWorker("mock" + std::to_string(i)));
  std::vector<std::thread> clients;
  std::vector<float> results(workers.size());
  for (size_t i = 0; i < workers.size(); ++i) {
    clients.emplace_back([&, i] {
      DeviceWorker& worker = *workers[i];
      BufferId x = *worker.Allocate(4, "", MemoryKind::kActivations);
      BufferId d = *worker.Allocate(4, "", MemoryKind::kActivations);
      worker.Write(x, 0, FloatBytes({0.0f}));
      worker.Write(d, 0, FloatBytes({static_cast<float>(i + 1)}));
      for (int step = 0; step < 100; ++step) {
        worker.Launch("residual_add", {BufferRef{x}, BufferRef{d}, int32_t{0}, int32_t{1}});
      }
      worker.Read(x, 0, {reinterpret_cast<uint8_t*>(&results[i]), 4});
      EXPECT_TRUE(worker.Sync().ok());
    });
  }
  for (std::thread& client : clients) client.join();
  for (size_t i = 0; i < workers.size(); ++i) {
    EXPECT_EQ(results[i], 100.0f * static_cast<float>(i + 1));
  }
}

// A card whose kernels never finish, to check that waits are bounded.
class StuckDevice : public Device {
 public:
  const DeviceInfo& info() const override { return info_; }
  DeviceStats stats() const override { return {}; }
  absl::StatusOr<BufferId> Allocate(size_t, std::string_view, MemoryKind) override { return 1; }
  absl::Status Free(BufferId) override { return absl::OkStatus(); }
  absl::Status Write(BufferId, size_t, std::span<const uint8_t>) override {
    return absl::OkStatus();
  }
  absl::Status Read(BufferId, size_t, std::span<uint8_t>) override { return absl::OkStatus(); }
  absl::StatusOr<RunHandle> Launch(std::string_view, std::span<const KernelArg>) override {
    return 1;
  }
  absl::Status Wait(RunHandle, absl::Duration timeout) override {
    absl::SleepFor(timeout);
    return absl::DeadlineExceededError("stuck: run 1 did not finish");
  }

 private:
  DeviceInfo info_ = [] {
    DeviceInfo info;
    info.name = "stuck";
    return info;
  }();
};

TEST(DeviceWorkerTest, IdleCallbackFiresWhenTheQueueRunsDry) {
  auto worker = MakeWorker("mock0");
  absl::Mutex mu;
  int drained = 0;
  worker->OnIdle([&] {
    absl::MutexLock lock(&mu);
    ++drained;
  });
  absl::Notification release;
  worker->Enqueue([&](Device&) {
    release.WaitForNotification();
    return absl::OkStatus();
  });
  worker->Enqueue([](Device&) { return absl::OkStatus(); });
  EXPECT_FALSE(worker->idle());  // the first command is held
  release.Notify();
  ASSERT_TRUE(worker->Sync().ok());
  EXPECT_TRUE(worker->idle());
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(drained, 1);  // once, when the second command was done
  }
  worker->OnIdle(nullptr);
  worker->Enqueue([](Device&) { return absl::OkStatus(); });
  ASSERT_TRUE(worker->Sync().ok());
  absl::MutexLock lock(&mu);
  EXPECT_EQ(drained, 1);  // cleared: not called again
}

TEST(DeviceWorkerTest, LaunchWaitsAreBoundedByTheTimeout) {
  DeviceWorker worker(std::make_unique<StuckDevice>(), absl::Milliseconds(10));
  worker.Launch("matvec_f32", {});
  EXPECT_EQ(worker.Sync().code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace fabric

namespace fabric {
namespace {

TEST(FenceTest, OrdersCommandsAcrossCards) {
  auto a = MakeWorker("a"), b = MakeWorker("b");
  std::vector<int> order;
  absl::Mutex mu;
  auto record = [&](int step) {
    return [&, step](Device&) {
      absl::MutexLock lock(&mu);
      order.push_back(step);
      return absl::OkStatus();
    };
  };
  auto fence = std::make_shared<Fence>();
  b->WaitFor(fence);  // b is held until a has run its first command
  b->Enqueue(record(2));
  a->Enqueue([&](Device& device) {
    absl::SleepFor(absl::Milliseconds(20));  // gives b every chance to run early
    return record(1)(device);
  });
  a->Signal(fence);
  ASSERT_TRUE(a->Sync().ok());
  ASSERT_TRUE(b->Sync().ok());
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(FenceTest, AFailedCardPoisonsTheFenceInsteadOfHangingOthers) {
  auto a = MakeWorker("a"), b = MakeWorker("b");
  auto fence = std::make_shared<Fence>(2);
  std::atomic<bool> ran = false;
  a->Launch("no_such_kernel", {});  // a fails; its signal still comes, poisoned
  a->Signal(fence);
  b->Signal(fence);
  b->WaitFor(fence);
  b->Enqueue([&](Device&) {
    ran = true;
    return absl::OkStatus();
  });
  EXPECT_EQ(a->Sync().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(b->Sync().code(), absl::StatusCode::kAborted);
  EXPECT_FALSE(ran.load());
}

}  // namespace
}  // namespace fabric
