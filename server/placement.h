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
  int instance = 0;  // which replica of the model
  CardShard shard;
  uint64_t weight_bytes = 0;
  uint64_t kv_bytes = 0;
  uint64_t capacity_bytes = 0;
};

// The program options a config asks for.
ProgramOptions ProgramOptionsFrom(const v1::ServedModelConfig& model);

// Plans every instance of the model over the config's cards. Fails when the model's shape
// does not allow the TP x PP, or when a card's shard does not fit its memory (naming the
// card and what would work).
absl::StatusOr<std::vector<CardPlacement>> PlaceModel(const v1::ClusterConfig& config,
                                                      const ModelFile& model);

// A table of the placement, one line a card, for `fabric serve --dry-run` and start-up logs.
std::string DescribePlacement(const std::vector<CardPlacement>& placement);

}  // namespace fabric

#endif  // FABRIC_SERVER_PLACEMENT_H_
