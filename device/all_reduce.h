// Sums partial results across the cards of a tensor-parallel group, written on the Device
// interface (reads, writes and kernel launches), so mock and XRT cards run the same code.
#ifndef FABRIC_DEVICE_ALL_REDUCE_H_
#define FABRIC_DEVICE_ALL_REDUCE_H_

#include <memory>
#include <vector>

#include "device/device.h"
#include "device/device_worker.h"
#include "device/fence.h"

namespace fabric {

// One card's part in an all-reduce: its partial, a scratch area for the others' partials
// (one slot of `slot_bytes` per rank), and the buffer the sum is added to.
struct AllReduceMember {
  DeviceWorker* worker = nullptr;
  BufferRef partial;
  BufferRef scratch;
  size_t slot_bytes = 0;
  BufferRef target;
};

// One all-reduce of `floats` values among `ranks` cards: every card ends with
// target += partial[0] + partial[1] + ... added in rank order, so all cards hold bit-identical
// sums whatever the timing. Partials travel through host memory. Enqueue it on every rank;
// the cards meet at a fence, which a failed card poisons instead of leaving others waiting.
class AllReduce {
 public:
  AllReduce(int ranks, size_t floats);

  // Queues rank `rank`'s part on its worker. Returns the bytes this card sends and receives.
  uint64_t Enqueue(int rank, const AllReduceMember& member);

 private:
  const size_t floats_;
  std::shared_ptr<Fence> fence_;
  std::vector<std::shared_ptr<std::vector<float>>> partials_;  // host copies, by rank
};

}  // namespace fabric

#endif  // FABRIC_DEVICE_ALL_REDUCE_H_
