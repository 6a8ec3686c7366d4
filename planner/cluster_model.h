// The model of a cluster plan: card groups (unified, or prefill and decode) each made of
// instances of tensor_parallel x pipeline_parallel cards, joined by PCIe through the host or
// by a QSFP ring. Adds to the per-card model (perf_model.h) the tensor-parallel all-reduces
// (two per layer), pipeline hand-offs and the pipeline's fill, the KV-cache transfer from
// prefill to decode instances, and checks that every card's weights, KV cache and
// activations fit its memory.
#ifndef FABRIC_PLANNER_CLUSTER_MODEL_H_
#define FABRIC_PLANNER_CLUSTER_MODEL_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "planner/bitstream_profile.h"
#include "planner/card_catalog.h"
#include "planner/model_shape.h"
#include "planner/operator_cost.h"

namespace fabric::planner {

enum class LinkKind {
  kPcie,  // through host memory: every transfer goes card -> host -> card
  kQsfp,  // a ring of direct card-to-card links
};

struct Link {
  LinkKind kind = LinkKind::kPcie;
  double bytes_per_second = 0;  // one transfer (one hop on the ring)
  double latency_seconds = 0;   // fixed cost of one transfer (one hop)
};

// The link `kind` gives `cards` (the slowest card sets it); QSFP needs a port on every card.
absl::StatusOr<Link> DefaultLink(LinkKind kind, const std::vector<CardSpec>& cards);
absl::StatusOr<LinkKind> ParseLinkKind(std::string_view name);  // "pcie" or "qsfp"

// Sum of `bytes` of partial results over `cards` cards, every card getting the total.
double AllReduceSeconds(const Link& link, int cards, double bytes);
// `bytes` from one card to the next (a pipeline stage hand-off).
double HandoffSeconds(const Link& link, double bytes);

enum class Role { kUnified, kPrefill, kDecode };
std::string_view RoleName(Role role);

struct InstanceShape {
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  int cards() const { return tensor_parallel * pipeline_parallel; }
};

// `instances` instances of `shape`, on consecutive cards.
struct GroupPlan {
  Role role = Role::kUnified;
  InstanceShape shape = {};
  int instances = 1;
  int cards() const { return shape.cards() * instances; }
};

// Groups take the cluster's cards in order.
struct ClusterPlan {
  std::vector<GroupPlan> groups;
  int cards() const;
  // "TP2xPP1 x2" for one unified group; "prefill TP1xPP1 | decode TP2xPP1 x3" for a split.
  std::string Describe() const;
};

struct Cluster {
  std::vector<CardSpec> cards;  // in config order
  Link link = {};
  // When set, every card runs this bitstream (a published design); otherwise each card gets
  // DeriveProfile for its group's role.
  std::optional<BitstreamProfile> profile = {};
};

struct Workload {
  int prompt_tokens = 512;
  int output_tokens = 256;
  int max_batch = 32;  // most sequences one decode (or unified) instance runs at once
  // The host's own time per step, outside the cards: collecting a step's logits, sampling,
  // streaming and planning the next step. Not modeled; 0 unless measured on the serving host
  // (Fabric's engine exports it as fabric_engine_host_seconds_total per step).
  double host_step_seconds = 0;
};

// What one card holds under a plan, at the plan's batch.
struct CardUse {
  int card = 0;  // index into Cluster::cards
  Role role = Role::kUnified;
  int stage = 0;
  int rank = 0;
  int layers = 0;
  double weight_bytes = 0;
  double kv_bytes = 0;
  double activation_bytes = 0;
  double capacity_bytes = 0;
};

struct PlanEstimate {
  ClusterPlan plan = {};
  bool fits = false;
  std::string reason;  // why the plan does not fit or is not possible
  // One request alone: prompt to first token, then each further token (at the middle of the
  // generation), and the whole request (with the KV-cache move of a split).
  double ttft_seconds = 0;
  double tpot_seconds = 0;
  double kv_transfer_seconds = 0;
  double request_seconds = 0;
  // Under load: sequences per decode instance (memory and Workload::max_batch allowing),
  // the time per token at that batch, and output tokens per second of the whole cluster.
  int batch = 0;
  double batch_tpot_seconds = 0;
  double aggregate_tokens_per_second = 0;
  Bound prefill_bound = Bound::kCompute;
  Bound decode_bound = Bound::kBandwidth;        // one sequence alone
  Bound batch_decode_bound = Bound::kBandwidth;  // at `batch`
  std::vector<CardUse> cards;
};

// Predicts `plan` for `shape` on `cluster` under `workload`. A plan the model's heads or
// layers do not allow, one needing more cards than the cluster has, or one whose cards cannot
// hold their share comes back with fits false and the reason.
PlanEstimate EstimatePlan(const ModelShape& shape, const Cluster& cluster,
                          const ClusterPlan& plan, const Workload& workload);

// The problem with `tensor_parallel` for the model's heads, or empty (as PlanShards allows:
// query heads split evenly, key/value heads split or replicated whole).
std::string TensorParallelProblem(const ModelShape& shape, int tensor_parallel);

}  // namespace fabric::planner

#endif  // FABRIC_PLANNER_CLUSTER_MODEL_H_
