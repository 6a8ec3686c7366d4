#include "model/shard_plan.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fabric {
namespace {

// The values of TP in {1, 2, 4, 8} that the model's heads allow.
std::vector<int> WorkableTensorParallel(const ModelConfig& config) {
  std::vector<int> workable;
  for (int tp : {1, 2, 4, 8}) {
    const bool heads = config.n_heads % tp == 0;
    const bool kv = config.n_kv_heads % tp == 0 || tp % config.n_kv_heads == 0;
    if (heads && kv) workable.push_back(tp);
  }
  return workable;
}

// Weights a layer streams per token (in parameters), and the classifier's.
double LayerCost(const ModelConfig& c) {
  return 2.0 * c.dim * c.dim + 2.0 * c.dim * c.kv_dim() + 3.0 * c.dim * c.hidden_dim;
}

// Contiguous split of n layers into `stages` minimizing the largest stage cost, where the
// last stage also carries `tail` (the classifier).
std::vector<Range> BalanceStages(int n, int stages, double layer, double tail) {
  // best[s][i]: the smallest possible max cost of splitting the first i layers into s stages.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> best(stages + 1, std::vector<double>(n + 1, inf));
  std::vector<std::vector<int>> cut(stages + 1, std::vector<int>(n + 1, 0));
  best[0][0] = 0;
  for (int s = 1; s <= stages; ++s) {
    for (int i = s; i <= n; ++i) {
      for (int j = s - 1; j < i; ++j) {  // stage s holds layers [j, i)
        const double cost = layer * (i - j) + (s == stages && i == n ? tail : 0);
        const double worst = std::max(best[s - 1][j], cost);
        if (worst < best[s][i]) {  // strict: ties keep the earlier (more even) cut
          best[s][i] = worst;
          cut[s][i] = j;
        }
      }
    }
  }
  std::vector<Range> ranges(stages);
  for (int s = stages, i = n; s >= 1; --s) {
    ranges[s - 1] = {cut[s][i], i};
    i = cut[s][i];
  }
  return ranges;
}

}  // namespace

std::vector<Range> SplitEvenly(int n, int parts, int alignment) {
  const int units = (n + alignment - 1) / alignment;
  std::vector<Range> ranges;
  int begin = 0;
  for (int p = 0; p < parts; ++p) {
    const int end_units = static_cast<int>(static_cast<long long>(units) * (p + 1) / parts);
    const int end = std::min(n, end_units * alignment);
    ranges.push_back({begin, end});
    begin = end;
  }
  return ranges;
}

std::vector<Range> ShardPlan::stage_layers() const {
  std::vector<Range> layers;
  for (int s = 0; s < pipeline_parallel; ++s) layers.push_back(card(s, 0).layers);
  return layers;
}

absl::StatusOr<ShardPlan> PlanShards(const ModelConfig& config, int tp, int pp,
                                     int column_alignment) {
  if (tp < 1 || pp < 1) {
    return absl::InvalidArgumentError("tensor_parallel and pipeline_parallel must be at least 1");
  }
  const std::string workable = absl::StrJoin(WorkableTensorParallel(config), ", ");
  if (config.n_heads % tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor_parallel ", tp, " does not divide the model's ", config.n_heads,
        " query heads; tensor_parallel ", workable, " would work"));
  }
  if (config.n_kv_heads % tp != 0 && tp % config.n_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor_parallel ", tp, " cannot share the model's ", config.n_kv_heads,
        " key/value heads evenly (each card needs whole heads, or a whole head replicated); "
        "tensor_parallel ", workable, " would work"));
  }
  if (pp > config.n_layers) {
    return absl::InvalidArgumentError(absl::StrCat("pipeline_parallel ", pp, " exceeds the model's ",
                                                   config.n_layers, " layers; use at most ",
                                                   config.n_layers));
  }
  const int hidden_units = (config.hidden_dim + column_alignment - 1) / column_alignment;
  if (hidden_units < tp) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor_parallel ", tp, " leaves some cards without FFN columns (hidden ",
        config.hidden_dim, " in blocks of ", column_alignment, ")"));
  }
  ShardPlan plan;
  plan.tensor_parallel = tp;
  plan.pipeline_parallel = pp;
  const std::vector<Range> stages = BalanceStages(
      config.n_layers, pp, LayerCost(config), static_cast<double>(config.vocab_size) * config.dim);
  const std::vector<Range> heads = SplitEvenly(config.n_heads, tp);
  const std::vector<Range> hidden = SplitEvenly(config.hidden_dim, tp, column_alignment);
  const std::vector<Range> vocab = SplitEvenly(config.vocab_size, tp);
  const int group = config.n_heads / config.n_kv_heads;  // query heads per kv head
  for (int s = 0; s < pp; ++s) {
    for (int r = 0; r < tp; ++r) {
      CardShard card;
      card.stage = s;
      card.rank = r;
      card.layers = stages[s];
      card.q_heads = heads[r];
      card.kv_heads = {heads[r].begin / group, (heads[r].end - 1) / group + 1};
      card.hidden = hidden[r];
      card.embedding = s == 0;
      card.classifier = s == pp - 1;
      if (card.classifier) card.vocab = vocab[r];
      plan.cards.push_back(card);
    }
  }
  return plan;
}

}  // namespace fabric
