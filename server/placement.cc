#include "server/placement.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "model/card_weights.h"
#include "server/config/config_validation.h"

namespace fabric {
namespace {

double MiB(uint64_t bytes) { return bytes / double(1 << 20); }

std::string RangeText(Range range) { return absl::StrCat(range.begin, "-", range.end - 1); }

}  // namespace

ProgramOptions ProgramOptionsFrom(const v1::ServedModelConfig& model,
                                  const v1::CardGroupConfig& group) {
  ProgramOptions options;
  options.max_batch_tokens = model.max_batch_tokens();
  options.max_sequences = model.max_sequences();
  options.kv_block_size = model.kv_block_size();
  options.kv_blocks = model.kv_blocks();
  options.tensor_parallel = std::max(group.tensor_parallel(), 1);
  options.pipeline_parallel = std::max(group.pipeline_parallel(), 1);
  return options;
}

absl::StatusOr<std::vector<CardPlacement>> PlaceModel(const v1::ClusterConfig& config,
                                                      const ModelFile& model) {
  std::map<std::string, const v1::CardConfig*> cards;
  for (const v1::CardConfig& card : config.cards()) cards[card.id()] = &card;
  std::vector<CardPlacement> placement;
  int instances = 0;
  const std::vector<v1::CardGroupConfig> groups = EffectiveGroups(config);
  for (size_t g = 0; g < groups.size(); ++g) {
    const v1::CardGroupConfig& group = groups[g];
    const ProgramOptions options = ProgramOptionsFrom(config.model(), group);
    ASSIGN_OR_RETURN(ShardPlan plan,
                     PlanShards(model.config(), options.tensor_parallel,
                                options.pipeline_parallel, ColumnAlignment(model)));
    const StepShape shape = LlamaProgram::ShapeFor(model.config(), options);
    const int per_instance = options.tensor_parallel * options.pipeline_parallel;
    for (int i = 0; i < group.cards_size(); ++i) {
      CardPlacement p;
      p.card = group.cards(i);
      p.role = group.role();
      p.group = static_cast<int>(g);
      p.instance = instances + i / per_instance;
      p.shard = plan.cards[i % per_instance];
      p.weight_bytes = ShardWeightBytes(model, p.shard);
      p.kv_bytes = 2ull * p.shard.layers.size() * shape.kv_rows * p.shard.kv_heads.size() *
                   model.config().head_dim() * sizeof(float);
      auto card = cards.find(p.card);
      p.capacity_bytes = card == cards.end() ? 0 : card->second->memory_bytes();
      if (p.capacity_bytes > 0 && p.weight_bytes + p.kv_bytes > p.capacity_bytes) {
        return absl::ResourceExhaustedError(absl::StrFormat(
            "card %s (stage %d, rank %d) needs %.1f MiB of weights and %.1f MiB of KV cache but "
            "has %.1f MiB; give it more memory_bytes, split the model over more cards "
            "(tensor_parallel, pipeline_parallel), or lower model.kv_blocks / max_sequences",
            p.card, p.shard.stage, p.shard.rank, MiB(p.weight_bytes), MiB(p.kv_bytes),
            MiB(p.capacity_bytes)));
      }
      placement.push_back(p);
    }
    instances += group.cards_size() / per_instance;
  }
  return placement;
}

std::string DescribePlacement(const std::vector<CardPlacement>& placement) {
  std::string text = absl::StrFormat("%-10s %-8s %4s %5s %4s %-7s %-7s %-7s %-9s %-9s %11s %9s %11s\n",
                                     "card", "role", "inst", "stage", "rank", "layers", "heads",
                                     "kv", "ffn", "vocab", "weights MiB", "kv MiB",
                                     "memory MiB");
  for (const CardPlacement& p : placement) {
    const CardShard& s = p.shard;
    absl::StrAppend(
        &text, absl::StrFormat("%-10s %-8s %4d %5d %4d %-7s %-7s %-7s %-9s %-9s %11.2f %9.2f %11.1f\n",
                               p.card, p.role, p.instance, s.stage, s.rank, RangeText(s.layers),
                               RangeText(s.q_heads), RangeText(s.kv_heads), RangeText(s.hidden),
                               s.classifier ? RangeText(s.vocab) : "-", MiB(p.weight_bytes),
                               MiB(p.kv_bytes), MiB(p.capacity_bytes)));
  }
  return text;
}

}  // namespace fabric
