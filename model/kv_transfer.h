// Moves a sequence's KV cache from one model instance to another (a prefill group to a decode
// group), whatever the tensor- and pipeline-parallel split of each.
#ifndef FABRIC_MODEL_KV_TRANSFER_H_
#define FABRIC_MODEL_KV_TRANSFER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "model/llama_program.h"

namespace fabric {

// Copies the keys and values of positions [0, positions) from the `from_blocks` of `from` into
// the `to_blocks` of `to`, through the Device interface: block reads on the cards that hold
// each layer's heads in `from`, block writes on those that hold them in `to`, reassembled in
// host memory in between. Waits for both sides; returns the bytes read and written. Both
// programs must be idle (no step in flight) and run the same model.
absl::StatusOr<uint64_t> TransferKv(LlamaProgram& from, const std::vector<int>& from_blocks,
                                    LlamaProgram& to, const std::vector<int>& to_blocks,
                                    int positions);

}  // namespace fabric

#endif  // FABRIC_MODEL_KV_TRANSFER_H_
