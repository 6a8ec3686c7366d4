#include "model/kv_transfer.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fabric {
namespace {

// A layer's keys and values for the whole key/value width: [blocks][block_size][kv_dim].
struct LayerImage {
  std::vector<float> keys, values;
};

// Syncs every card of `program`, keeping the first error.
absl::Status SyncAll(LlamaProgram& program) {
  absl::Status status;
  for (int c = 0; c < program.num_cards(); ++c) {
    status.Update(program.card_program(c).worker().Sync());
  }
  return status;
}

}  // namespace

absl::StatusOr<uint64_t> TransferKv(LlamaProgram& from, const std::vector<int>& from_blocks,
                                    LlamaProgram& to, const std::vector<int>& to_blocks,
                                    int positions) {
  const ModelConfig& config = from.config();
  const int block_size = from.options().kv_block_size;
  if (to.options().kv_block_size != block_size) {
    return absl::InvalidArgumentError("KV transfers need the same block size on both sides");
  }
  const int blocks = (positions + block_size - 1) / block_size;
  if (blocks > static_cast<int>(from_blocks.size()) ||
      blocks > static_cast<int>(to_blocks.size())) {
    return absl::InvalidArgumentError("KV transfer: block tables shorter than the positions");
  }
  const int head_dim = config.head_dim(), kv_dim = config.kv_dim();
  const size_t block_floats = size_t(block_size) * kv_dim;
  std::vector<LayerImage> image(config.n_layers);
  for (LayerImage& layer : image) {
    layer.keys.resize(blocks * block_floats);
    layer.values.resize(blocks * block_floats);
  }
  uint64_t bytes = 0;

  // Read: for each layer, each key/value head from one card that holds it.
  struct Pending {
    int layer, block, head_begin, heads, width;
    HostFloats keys, values;
  };
  std::vector<Pending> reads;
  for (int c = 0; c < from.num_cards(); ++c) {
    CardProgram& card = from.card_program(c);
    const CardShard& shard = card.shard();
    // Replicated heads are read once: from the lowest rank whose first head is new.
    if (shard.rank > 0 && from.plan().card(shard.stage, shard.rank - 1).kv_heads == shard.kv_heads) {
      continue;
    }
    for (int l = shard.layers.begin; l < shard.layers.end; ++l) {
      for (int b = 0; b < blocks; ++b) {
        Pending read{l, b, shard.kv_heads.begin, shard.kv_heads.size(), card.kv_width(),
                     std::make_shared<std::vector<float>>(),
                     std::make_shared<std::vector<float>>()};
        card.ReadKvBlock(l, from_blocks[b], read.keys, read.values);
        reads.push_back(read);
        bytes += 2ull * block_size * card.kv_width() * sizeof(float);
      }
    }
  }
  RETURN_IF_ERROR(SyncAll(from));
  for (const Pending& read : reads) {
    LayerImage& layer = image[read.layer];
    for (int row = 0; row < block_size; ++row) {
      const size_t dst = read.block * block_floats + size_t(row) * kv_dim +
                         size_t(read.head_begin) * head_dim;
      const size_t src = size_t(row) * read.width;
      std::copy_n(read.keys->begin() + src, read.width, layer.keys.begin() + dst);
      std::copy_n(read.values->begin() + src, read.width, layer.values.begin() + dst);
    }
  }

  // Write: each destination card gets its heads of its layers.
  for (int c = 0; c < to.num_cards(); ++c) {
    CardProgram& card = to.card_program(c);
    const CardShard& shard = card.shard();
    const int width = card.kv_width();
    for (int l = shard.layers.begin; l < shard.layers.end; ++l) {
      for (int b = 0; b < blocks; ++b) {
        auto keys = std::make_shared<std::vector<float>>(size_t(block_size) * width);
        auto values = std::make_shared<std::vector<float>>(size_t(block_size) * width);
        for (int row = 0; row < block_size; ++row) {
          const size_t src = b * block_floats + size_t(row) * kv_dim +
                             size_t(shard.kv_heads.begin) * head_dim;
          std::copy_n(image[l].keys.begin() + src, width, keys->begin() + size_t(row) * width);
          std::copy_n(image[l].values.begin() + src, width, values->begin() + size_t(row) * width);
        }
        card.WriteKvBlock(l, to_blocks[b], keys, values);
        bytes += 2ull * block_size * width * sizeof(float);
      }
    }
  }
  RETURN_IF_ERROR(SyncAll(to));
  return bytes;
}

}  // namespace fabric
