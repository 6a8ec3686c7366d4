// Where a cluster config puts a model: which card holds which shard, and the memory it takes.
#ifndef FABRIC_SERVER_PLACEMENT_H_
#define FABRIC_SERVER_PLACEMENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fabric/v1/config.pb.h"
#include "model/llama_program.h"
#include "model/model_file.h"

namespace fabric {

struct CardPlacement {
  std::string card;  // the config's card id
  std::string role;  // its group's: unified, prefill or decode
  int group = 0;     // index into the config's (effective) groups
  int instance = 0;  // which instance of the model, counted over all groups
  CardShard shard;
  uint64_t weight_bytes = 0;
  uint64_t kv_bytes = 0;
  uint64_t capacity_bytes = 0;
};

// The program options a config asks for, for an instance of `group`.
ProgramOptions ProgramOptionsFrom(const v1::ServedModelConfig& model,
                                  const v1::CardGroupConfig& group);

// Plans every instance of the model over each group's cards, in group order. Fails when the model's shape
// does not allow the TP x PP, or when a card's shard does not fit its memory (naming the
// card and what would work).
absl::StatusOr<std::vector<CardPlacement>> PlaceModel(const v1::ClusterConfig& config,
                                                      const ModelFile& model);

// A table of the placement, one line a card, for `fabric serve --dry-run` and start-up logs.
std::string DescribePlacement(const std::vector<CardPlacement>& placement);

}  // namespace fabric

#endif  // FABRIC_SERVER_PLACEMENT_H_
