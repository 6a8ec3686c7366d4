#include "device/all_reduce.h"

namespace fabric {
namespace {

std::span<uint8_t> Bytes(std::vector<float>& values) {
  return {reinterpret_cast<uint8_t*>(values.data()), values.size() * sizeof(float)};
}

}  // namespace

AllReduce::AllReduce(int ranks, size_t floats)
    : floats_(floats), fence_(std::make_shared<Fence>(ranks)) {
  for (int r = 0; r < ranks; ++r) {
    partials_.push_back(std::make_shared<std::vector<float>>(floats));
  }
}

uint64_t AllReduce::Enqueue(int rank, const AllReduceMember& m) {
  DeviceWorker& worker = *m.worker;
  const int ranks = static_cast<int>(partials_.size());
  auto own = partials_[rank];
  worker.Enqueue([m, own](Device& device) {
    return device.Read(m.partial.buffer, m.partial.offset, Bytes(*own));
  });
  worker.Signal(fence_);
  worker.WaitFor(fence_);
  for (int r = 0; r < ranks; ++r) {
    if (r == rank) continue;
    auto other = partials_[r];
    const size_t offset = m.scratch.offset + r * m.slot_bytes;
    worker.Enqueue([m, other, offset](Device& device) {
      return device.Write(m.scratch.buffer, offset, Bytes(*other));
    });
  }
  for (int r = 0; r < ranks; ++r) {
    const BufferRef delta =
        r == rank ? m.partial : BufferRef{m.scratch.buffer, m.scratch.offset + r * m.slot_bytes};
    worker.Launch("residual_add",
                  {m.target, delta, int32_t{0}, static_cast<int32_t>(floats_)});
  }
  return uint64_t(ranks) * floats_ * sizeof(float);  // one partial out, ranks - 1 in
}

}  // namespace fabric
