#include "planner/cluster_model.h"

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "planner/perf_model.h"

namespace fabric::planner {
namespace {

// PCIe payload after TLP headers and DMA descriptors, and the fixed cost of one DMA transfer
// through host memory (assumptions, planner/README.md).
constexpr double kPcieEfficiency = 0.8;
constexpr double kPcieLatencySeconds = 10e-6;
// One hop of a QSFP ring: serializer, framing and the receiving card's router (assumption).
constexpr double kQsfpHopLatencySeconds = 1e-6;
constexpr double kGiB = double{1 << 30};
// Logits reach the host as f32.
constexpr double kLogitBytes = 4;

KernelProfile KernelProfileOf(Role role) {
  switch (role) {
    case Role::kPrefill:
      return KernelProfile::kPrefill;
    case Role::kDecode:
      return KernelProfile::kDecode;
    case Role::kUnified:
      break;
  }
  return KernelProfile::kUnified;
}

// One instance of a group, on cards [first_card, first_card + shape.cards()).
struct Instance {
  Role role;
  InstanceShape shape;
  int first_card;
};

// Everything a plan's timing needs.
struct Context {
  const ModelShape& shape;
  const Cluster& cluster;
  const Workload& workload;
  Link pcie;  // logits and KV caches always cross PCIe to the host
};

// Layers of each pipeline stage: an even split, the earlier stages taking the remainder.
int StageLayers(int layers, int stages, int stage) {
  return layers / stages + (stage < layers % stages ? 1 : 0);
}

CardSlice SliceOf(const ModelShape& shape, const Instance& inst, int stage) {
  const int pp = inst.shape.pipeline_parallel;
  return {.layers = StageLayers(shape.n_layers, pp, stage),
          .tensor_parallel = inst.shape.tensor_parallel,
          .embedding = stage == 0,
          .classifier = stage == pp - 1};
}

BitstreamProfile ProfileFor(const Context& x, const CardSpec& card, Role role) {
  return x.cluster.profile ? *x.cluster.profile
                           : DeriveProfile(card, KernelProfileOf(role), x.shape);
}

double TransferSeconds(const Link& link, double bytes) {
  return link.latency_seconds + bytes / link.bytes_per_second;
}

// One step on one stage: the host's copy of the batch's metadata to each card (tokens,
// positions, cache slots, block tables: one transfer), its slowest card, the
// tensor-parallel all-reduces (two per layer) and the classifier's logits read by the host.
Cost StageStep(const Context& x, const Instance& inst, int stage, const StepShape& step) {
  const int tp = inst.shape.tensor_parallel;
  const CardSlice slice = SliceOf(x.shape, inst, stage);
  Cost slowest;
  for (int rank = 0; rank < tp; ++rank) {
    const CardSpec& card = x.cluster.cards[inst.first_card + stage * tp + rank];
    const Cost cost =
        StepCost(x.shape, slice, card, ProfileFor(x, card, inst.role), step).total;
    if (cost.seconds() > slowest.seconds()) slowest = cost;
  }
  const double tokens = static_cast<double>(step.sequences) * step.new_tokens;
  // Four ints a token and a block table a sequence (of 16-position blocks).
  const double metadata = 4 * sizeof(int32_t) * tokens +
                          sizeof(int32_t) * step.sequences * (step.context / 16.0 + 1);
  slowest.overhead_seconds += TransferSeconds(x.pcie, metadata);
  const double activations = tokens * x.shape.dim * x.shape.activation_bits / 8.0;
  if (tp > 1) {
    slowest.overhead_seconds +=
        2.0 * slice.layers * AllReduceSeconds(x.cluster.link, tp, activations);
  }
  if (slice.classifier) {
    const double logits = step.sequences * WidthsOf(x.shape, tp).vocab * kLogitBytes;
    slowest.overhead_seconds += TransferSeconds(x.pcie, logits);
  }
  return slowest;
}

double HandoffFor(const Context& x, double tokens) {
  return HandoffSeconds(x.cluster.link, tokens * x.shape.dim * x.shape.activation_bits / 8.0);
}

// One prompt through every stage in turn (a prompt is not split into micro-batches).
Cost PrefillOf(const Context& x, const Instance& inst) {
  const int prompt = x.workload.prompt_tokens, pp = inst.shape.pipeline_parallel;
  Cost cost;
  for (int s = 0; s < pp; ++s) {
    cost += StageStep(x, inst, s, {.phase = Phase::kPrefill, .new_tokens = prompt});
  }
  cost.overhead_seconds += (pp - 1) * HandoffFor(x, prompt) + x.workload.host_step_seconds;
  return cost;
}

struct Round {
  double seconds = 0;  // time per token of every sequence
  Cost cost;           // summed over stages, for the bound
};

// A decode step of `batch` sequences. With pipeline stages the batch splits into micro-batches
// (at most one per stage); a sequence's next token needs a pass through every stage, and
// each stage serves every micro-batch once per round.
Round DecodeOf(const Context& x, const Instance& inst, int batch) {
  const int pp = inst.shape.pipeline_parallel;
  const int micro = std::min(batch, pp);
  const int per_micro = (batch + micro - 1) / micro;
  const int context = x.workload.prompt_tokens + x.workload.output_tokens / 2;
  Round round;
  double chain = 0, slowest = 0;
  for (int s = 0; s < pp; ++s) {
    const Cost stage = StageStep(
        x, inst, s, {.phase = Phase::kDecode, .sequences = per_micro, .context = context});
    chain += stage.seconds();
    slowest = std::max(slowest, stage.seconds());
    round.cost += stage;
  }
  chain += (pp - 1) * HandoffFor(x, per_micro);
  // The host prepares the next step once the last micro-batch's logits are in.
  round.seconds = std::max(chain, micro * slowest) + x.workload.host_step_seconds;
  return round;
}

double CardWeightBytes(const ModelShape& s, const CardSlice& slice) {
  const SliceWidths w = WidthsOf(s, slice.tensor_parallel);
  const double d = s.dim, norms = 2 * d * 4;  // f32 norm weights
  const double params = d * (w.q_dim + 2.0 * w.kv_dim) + w.q_dim * d + s.ffn_matrices() * d * w.ffn;
  const double bits = s.weight_bits + s.sparsity.index_bits();
  double bytes = slice.layers * (params * s.sparsity.density() * bits / 8 + norms);
  if (slice.embedding) bytes += s.TableBytes();  // every first-stage card gathers from it all
  if (slice.classifier) bytes += w.vocab * d * s.weight_bits / 8 + d * 4;
  return bytes;
}

double KvBytesPerSequence(const ModelShape& s, const CardSlice& slice, int tokens) {
  const double kv_dim = WidthsOf(s, slice.tensor_parallel).kv_dim;
  return static_cast<double>(tokens) * 2 * kv_dim * slice.layers * s.kv_bits / 8;
}

// The intermediates of a step of `tokens` tokens.
double ActivationBytes(const ModelShape& s, const CardSlice& slice, int tokens) {
  const SliceWidths w = WidthsOf(s, slice.tensor_parallel);
  return static_cast<double>(tokens) * (4.0 * s.dim + w.q_dim + 2.0 * w.kv_dim + 3.0 * w.ffn) *
         s.activation_bits / 8;
}

std::string DescribeCard(const ClusterPlan& plan, const Cluster& cluster, const CardUse& use,
                         int sequence_tokens) {
  const CardSpec& card = cluster.cards[use.card];
  return absl::StrFormat(
      "%s: card %d (%s, %s stage %d rank %d) needs %.1f GiB of weights, %.2f GiB of KV cache "
      "(one %d-token sequence) and %.2f GiB of activations; it has %.1f GiB of %s",
      plan.Describe(), use.card, card.name, RoleName(use.role), use.stage, use.rank,
      use.weight_bytes / kGiB, use.kv_bytes / kGiB, sequence_tokens,
      use.activation_bytes / kGiB, use.capacity_bytes / kGiB, card.model_memory_kind());
}

// Fills each card's use at the largest batch that fits all of the instance's cards (one
// prompt for a prefill instance). Returns that batch, or 0 with *reason set.
int FitInstance(const Context& x, const ClusterPlan& plan, const Instance& inst,
                std::vector<CardUse>* uses, std::string* reason) {
  const bool prefill_only = inst.role == Role::kPrefill;
  const int prompt = x.workload.prompt_tokens;
  const int sequence = prefill_only ? prompt : prompt + x.workload.output_tokens;
  // The largest step: a prompt, a decode batch, or either on a unified instance.
  const int max_batch = x.workload.max_batch;
  const int step_tokens = prefill_only                ? prompt
                          : inst.role == Role::kDecode ? max_batch
                                                       : std::max(prompt, max_batch);
  int batch = prefill_only ? 1 : max_batch;
  const size_t first_use = uses->size();
  for (int s = 0; s < inst.shape.pipeline_parallel; ++s) {
    const CardSlice slice = SliceOf(x.shape, inst, s);
    for (int r = 0; r < inst.shape.tensor_parallel; ++r) {
      CardUse use{.card = inst.first_card + s * inst.shape.tensor_parallel + r,
                  .role = inst.role, .stage = s, .rank = r, .layers = slice.layers,
                  .weight_bytes = CardWeightBytes(x.shape, slice),
                  .kv_bytes = KvBytesPerSequence(x.shape, slice, sequence),
                  .activation_bytes = ActivationBytes(x.shape, slice, step_tokens)};
      use.capacity_bytes = static_cast<double>(x.cluster.cards[use.card].model_memory_bytes());
      const double free = use.capacity_bytes - use.weight_bytes - use.activation_bytes;
      if (free < use.kv_bytes) {
        *reason = DescribeCard(plan, x.cluster, use, sequence);
        return 0;
      }
      batch = static_cast<int>(std::min<double>(batch, free / use.kv_bytes));
      uses->push_back(use);
    }
  }
  for (size_t i = first_use; i < uses->size(); ++i) (*uses)[i].kv_bytes *= batch;
  return batch;
}

std::string PlanProblem(const ModelShape& shape, const Cluster& cluster, const ClusterPlan& plan,
                        const Workload& workload) {
  const int sequence = workload.prompt_tokens + workload.output_tokens;
  if (shape.context_length > 0 && sequence > shape.context_length) {
    return absl::StrCat(plan.Describe(), ": ", sequence, "-token sequences exceed the model's ",
                        shape.context_length, "-token context");
  }
  if (plan.cards() > static_cast<int>(cluster.cards.size())) {
    return absl::StrCat(plan.Describe(), ": needs ", plan.cards(), " cards, the cluster has ",
                        cluster.cards.size());
  }
  bool prefill = false, decode = false;
  for (const GroupPlan& group : plan.groups) {
    prefill |= group.role == Role::kPrefill;
    decode |= group.role == Role::kDecode;
    if (std::string tp = TensorParallelProblem(shape, group.shape.tensor_parallel); !tp.empty()) {
      return absl::StrCat(plan.Describe(), ": ", tp);
    }
    if (group.shape.pipeline_parallel > shape.n_layers || group.shape.pipeline_parallel < 1) {
      return absl::StrCat(plan.Describe(), ": pipeline_parallel ", group.shape.pipeline_parallel,
                          " does not fit the model's ", shape.n_layers, " layers");
    }
  }
  if (prefill != decode) return absl::StrCat(plan.Describe(), ": a split needs both roles");
  return "";
}

// Requests per second the cluster's prefill instances, decode instances and unified
// instances serve.
struct Rates {
  double prefill = 0;
  double decode = 0;
  double unified = 0;
};

// Fits and times one instance, adding its rate; the first instance of each phase gives the
// single-request figures. False (with estimate->reason) when it does not fit.
bool AddInstance(const Context& x, const Instance& inst, Rates* rates, PlanEstimate* estimate) {
  const int batch = FitInstance(x, estimate->plan, inst, &estimate->cards, &estimate->reason);
  if (batch == 0) return false;
  const double output = x.workload.output_tokens;
  // A prompt's KV cache moves through the host, every card of an instance moving its share.
  const double kv_bytes = static_cast<double>(x.workload.prompt_tokens) * 2 *
                          x.shape.kv_dim() * x.shape.n_layers * x.shape.kv_bits / 8;
  const double kv_move = TransferSeconds(x.pcie, kv_bytes / inst.shape.cards());
  const bool first_prefill = rates->prefill == 0 && rates->unified == 0;
  const bool first_decode = rates->decode == 0 && rates->unified == 0;
  double prefill_seconds = 0;
  if (inst.role != Role::kDecode) {
    const Cost prefill = PrefillOf(x, inst);
    prefill_seconds = prefill.seconds();
    if (first_prefill) {
      estimate->ttft_seconds = prefill_seconds;
      estimate->prefill_bound = prefill.bound();
    }
    if (inst.role == Role::kPrefill) {
      if (first_prefill) estimate->kv_transfer_seconds += kv_move;
      rates->prefill += 1 / (prefill_seconds + kv_move);
      return true;
    }
  }
  const Round alone = DecodeOf(x, inst, 1), loaded = DecodeOf(x, inst, batch);
  if (first_decode) {
    estimate->tpot_seconds = alone.seconds;
    estimate->decode_bound = alone.cost.bound();
    estimate->batch_tpot_seconds = loaded.seconds;
    estimate->batch_decode_bound = loaded.cost.bound();
  }
  estimate->batch = std::min(estimate->batch, batch);
  if (inst.role == Role::kDecode) {
    if (first_decode) estimate->kv_transfer_seconds += kv_move;
    rates->decode += batch / (output * loaded.seconds + batch * kv_move);
  } else {
    // Continuous batching: each request's prompt pauses the instance's decoding.
    rates->unified += batch / (batch * prefill_seconds + output * loaded.seconds);
  }
  return true;
}

}  // namespace

absl::StatusOr<Link> DefaultLink(LinkKind kind, const std::vector<CardSpec>& cards) {
  double bandwidth = std::numeric_limits<double>::infinity();
  for (const CardSpec& card : cards) {
    const double rate = kind == LinkKind::kPcie ? card.pcie_bytes_per_second() * kPcieEfficiency
                                                : card.qsfp_bits_per_second / 8;
    if (rate <= 0 || (kind == LinkKind::kQsfp && card.qsfp_ports < 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "card '", card.name, "' has no ", kind == LinkKind::kPcie ? "PCIe" : "QSFP", " link"));
    }
    bandwidth = std::min(bandwidth, rate);
  }
  if (cards.empty()) return absl::InvalidArgumentError("a link needs at least one card");
  return Link{.kind = kind,
              .bytes_per_second = bandwidth,
              .latency_seconds =
                  kind == LinkKind::kPcie ? kPcieLatencySeconds : kQsfpHopLatencySeconds};
}

absl::StatusOr<LinkKind> ParseLinkKind(std::string_view name) {
  if (name == "pcie") return LinkKind::kPcie;
  if (name == "qsfp") return LinkKind::kQsfp;
  return absl::InvalidArgumentError(
      absl::StrCat("link must be pcie or qsfp, not '", std::string(name), "'"));
}

double AllReduceSeconds(const Link& link, int cards, double bytes) {
  if (cards <= 1) return 0;
  if (link.kind == LinkKind::kQsfp) {
    // Ring: reduce-scatter then all-gather, 2(n-1) hops of a 1/n share each.
    return 2.0 * (cards - 1) * TransferSeconds(link, bytes / cards);
  }
  // Through the host: every card writes its partial and reads the sum back, all in parallel.
  return 2.0 * TransferSeconds(link, bytes);
}

double HandoffSeconds(const Link& link, double bytes) {
  const double one = TransferSeconds(link, bytes);
  return link.kind == LinkKind::kQsfp ? one : 2 * one;  // PCIe: up to the host and down
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kPrefill:
      return "prefill";
    case Role::kDecode:
      return "decode";
    case Role::kUnified:
      break;
  }
  return "unified";
}

int ClusterPlan::cards() const {
  int total = 0;
  for (const GroupPlan& group : groups) total += group.cards();
  return total;
}

std::string ClusterPlan::Describe() const {
  std::string text;
  for (const GroupPlan& group : groups) {
    if (!text.empty()) absl::StrAppend(&text, " | ");
    if (groups.size() > 1) absl::StrAppend(&text, std::string(RoleName(group.role)), " ");
    absl::StrAppend(&text, "TP", group.shape.tensor_parallel, "xPP",
                    group.shape.pipeline_parallel);
    if (group.instances > 1) absl::StrAppend(&text, " x", group.instances);
  }
  return text;
}

std::string TensorParallelProblem(const ModelShape& shape, int tp) {
  if (tp < 1) return "tensor_parallel must be at least 1";
  if (shape.n_heads % tp != 0) {
    return absl::StrCat("tensor_parallel ", tp, " does not divide the ", shape.n_heads,
                        " query heads");
  }
  if (shape.n_kv_heads % tp != 0 && tp % shape.n_kv_heads != 0) {
    return absl::StrCat("tensor_parallel ", tp, " cannot share the ", shape.n_kv_heads,
                        " key/value heads");
  }
  return "";
}

PlanEstimate EstimatePlan(const ModelShape& shape, const Cluster& cluster,
                          const ClusterPlan& plan, const Workload& workload) {
  PlanEstimate estimate;
  estimate.plan = plan;
  estimate.reason = PlanProblem(shape, cluster, plan, workload);
  if (!estimate.reason.empty()) return estimate;
  auto pcie = DefaultLink(LinkKind::kPcie, cluster.cards);
  if (!pcie.ok()) {
    estimate.reason = std::string(pcie.status().message());
    return estimate;
  }
  const Context x{shape, cluster, workload, *pcie};
  Rates rates;
  estimate.batch = std::numeric_limits<int>::max();
  int card = 0;
  for (const GroupPlan& group : plan.groups) {
    for (int i = 0; i < group.instances; ++i, card += group.shape.cards()) {
      if (!AddInstance(x, {group.role, group.shape, card}, &rates, &estimate)) return estimate;
    }
  }
  const int output = workload.output_tokens;
  const double split_rate = std::min(rates.prefill, rates.decode);
  estimate.aggregate_tokens_per_second = output * (rates.unified + split_rate);
  estimate.request_seconds = estimate.ttft_seconds + estimate.kv_transfer_seconds +
                             (output - 1) * estimate.tpot_seconds;
  estimate.fits = true;
  return estimate;
}

}  // namespace fabric::planner
