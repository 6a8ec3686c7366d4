#include "model/llama_program.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "device/all_reduce.h"
#include "device/fence.h"
#include "kernels/kernel_signatures.h"
#include "model/card_weights.h"

namespace fabric {
namespace {

}  // namespace

LlamaProgram::LlamaProgram(const ModelConfig& config, ProgramOptions options, ShardPlan plan)
    : config_(config), options_(options), plan_(std::move(plan)) {}

absl::StatusOr<std::unique_ptr<LlamaProgram>> LlamaProgram::Create(const ModelFile& model,
                                                                   DeviceWorker& card,
                                                                   ProgramOptions options) {
  return Create(model, std::vector<DeviceWorker*>{&card}, options);
}

absl::StatusOr<std::unique_ptr<LlamaProgram>> LlamaProgram::Create(
    const ModelFile& model, std::vector<DeviceWorker*> cards, ProgramOptions options) {
  const ModelConfig& config = model.config();
  if (config.context_length > kMaxAttentionContext) {
    return absl::InvalidArgumentError(absl::StrCat(
        model.path(), ": context length ", config.context_length,
        " exceeds the attention kernel's limit of ", kMaxAttentionContext));
  }
  if (options.max_batch_tokens < 1 || options.max_sequences < 1 || options.kv_block_size < 1) {
    return absl::InvalidArgumentError("batch limits and KV block size must be positive");
  }
  const int tp = options.tensor_parallel, pp = options.pipeline_parallel;
  ASSIGN_OR_RETURN(ShardPlan plan, PlanShards(config, tp, pp, ColumnAlignment(model)));
  if (static_cast<int>(cards.size()) != tp * pp) {
    return absl::InvalidArgumentError(absl::StrCat("tensor_parallel ", tp, " x pipeline_parallel ",
                                                   pp, " needs ", tp * pp, " cards, not ",
                                                   cards.size()));
  }
  auto program = std::unique_ptr<LlamaProgram>(new LlamaProgram(config, options, plan));
  const StepShape shape = program->shape_ = ShapeFor(config, options);
  for (size_t i = 0; i < cards.size(); ++i) {
    const CardShard& shard = plan.cards[i];
    absl::StatusOr<std::unique_ptr<CardProgram>> card =
        CardProgram::Create(model, shard, tp, shape, *cards[i]);
    if (!card.ok()) {
      const double weights_mib = ShardWeightBytes(model, shard) / double(1 << 20);
      return absl::Status(
          card.status().code(),
          absl::StrCat("stage ", shard.stage, " rank ", shard.rank, " (", weights_mib,
                       " MiB of weights): ", card.status().message(),
                       card.status().code() == absl::StatusCode::kResourceExhausted
                           ? "; give the card more memory, or split the model over more cards "
                             "(tensor_parallel, pipeline_parallel), or fewer KV blocks"
                           : ""));
    }
    program->cards_.push_back(*std::move(card));
    program->traffic_.push_back(std::make_unique<CardTraffic>());
  }
  return program;
}

StepShape LlamaProgram::ShapeFor(const ModelConfig& config, const ProgramOptions& options) {
  StepShape shape;
  shape.max_tokens = options.max_batch_tokens;
  shape.max_sequences = options.max_sequences;
  shape.max_logits = std::min(options.max_batch_tokens, options.max_sequences);
  shape.block_size = options.kv_block_size;
  shape.max_blocks_per_sequence =
      (config.context_length + options.kv_block_size - 1) / options.kv_block_size;
  const int blocks = options.kv_blocks > 0 ? options.kv_blocks
                                           : shape.max_blocks_per_sequence * options.max_sequences;
  shape.kv_rows = blocks * options.kv_block_size;
  return shape;
}

absl::Status LlamaProgram::CheckBatch(const Batch& batch) const {
  const int n = batch.size();
  if (n < 1 || n > options_.max_batch_tokens) {
    return absl::InvalidArgumentError(absl::StrCat("a step carries 1 to ",
                                                   options_.max_batch_tokens, " tokens, not ", n));
  }
  if (batch.positions.size() != batch.tokens.size() ||
      batch.sequences.size() != batch.tokens.size()) {
    return absl::InvalidArgumentError("batch tokens, positions and sequences differ in length");
  }
  const int n_sequences = static_cast<int>(batch.block_tables.size());
  if (n_sequences > options_.max_sequences) {
    return absl::InvalidArgumentError(absl::StrCat("a step carries at most ",
                                                   options_.max_sequences, " sequences"));
  }
  if (static_cast<int>(batch.logit_tokens.size()) > shape_.max_logits) {
    return absl::InvalidArgumentError("too many logit rows requested in one step");
  }
  for (int t = 0; t < n; ++t) {
    const int token = batch.tokens[t], position = batch.positions[t], seq = batch.sequences[t];
    if (token < 0 || token >= config_.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", token, " outside vocabulary"));
    }
    if (position < 0 || position >= config_.context_length) {
      return absl::InvalidArgumentError(absl::StrCat("position ", position, " outside context of ",
                                                     config_.context_length));
    }
    if (seq < 0 || seq >= n_sequences) {
      return absl::InvalidArgumentError(absl::StrCat("token ", t, " names no sequence"));
    }
    const std::vector<int>& table = batch.block_tables[seq];
    const size_t block = position / options_.kv_block_size;
    if (block >= table.size() || table[block] < 0 || table[block] >= kv_blocks()) {
      return absl::InvalidArgumentError(
          absl::StrCat("position ", position, " of sequence ", seq, " has no KV-cache block"));
    }
  }
  for (int index : batch.logit_tokens) {
    if (index < 0 || index >= n) return absl::InvalidArgumentError("logit row outside batch");
  }
  return absl::OkStatus();
}

std::vector<Batch> LlamaProgram::MicroBatches(const Batch& batch, int parts,
                                              PendingStep& pending) const {
  // Token ranges that start where a sequence starts, each about 1/parts of the tokens.
  std::vector<std::pair<int, int>> ranges;
  const int n = batch.size(), target = (n + parts - 1) / parts;
  int begin = 0;
  for (int t = 1; t <= n; ++t) {
    const bool boundary = t == n || batch.sequences[t] != batch.sequences[t - 1];
    if (boundary && (t - begin >= target || t == n)) {
      ranges.emplace_back(begin, t);
      begin = t;
    }
  }
  std::vector<Batch> micro(ranges.size());
  pending.rows.assign(batch.logit_tokens.size(), {0, 0});
  for (size_t m = 0; m < ranges.size(); ++m) {
    const auto [first, last] = ranges[m];
    Batch& mb = micro[m];
    mb.block_tables = batch.block_tables;
    mb.tokens.assign(batch.tokens.begin() + first, batch.tokens.begin() + last);
    mb.positions.assign(batch.positions.begin() + first, batch.positions.begin() + last);
    mb.sequences.assign(batch.sequences.begin() + first, batch.sequences.begin() + last);
    for (size_t i = 0; i < batch.logit_tokens.size(); ++i) {
      const int t = batch.logit_tokens[i];
      if (t < first || t >= last) continue;
      pending.rows[i] = {static_cast<int>(m), static_cast<int>(mb.logit_tokens.size())};
      mb.logit_tokens.push_back(t - first);
    }
  }
  return micro;
}

void LlamaProgram::EnqueueMicroBatch(const Batch& mb, std::vector<HostFloats>& logits) {
  const int tp = plan_.tensor_parallel, pp = plan_.pipeline_parallel, n = mb.size();
  // A decode step carries one token of each of its sequences.
  const bool decode =
      std::set<int>(mb.sequences.begin(), mb.sequences.end()).size() == size_t(n);
  const std::shared_ptr<const BatchMetadata> metadata = EncodeBatch(mb, shape_);
  const uint64_t x_bytes = uint64_t(n) * config_.dim * sizeof(float);
  std::shared_ptr<Fence> handed = nullptr;  // the previous stage's output is in `handoff`
  HostFloats handoff;
  for (int s = 0; s < pp; ++s) {
    const Range layers = plan_.card(s, 0).layers;
    // Two all-reduces a layer (attention output, FFN output), shared by the stage's ranks.
    std::vector<std::unique_ptr<AllReduce>> reductions;
    if (tp > 1) {
      for (int i = 0; i < 2 * layers.size(); ++i) {
        reductions.push_back(std::make_unique<AllReduce>(tp, size_t(n) * config_.dim));
      }
    }
    auto next_handed = s + 1 < pp ? std::make_shared<Fence>(1) : nullptr;
    HostFloats next_handoff = std::make_shared<std::vector<float>>();
    for (int r = 0; r < tp; ++r) {
      CardProgram& c = card(s, r);
      CardTraffic& traffic = *traffic_[s * tp + r];
      c.UploadBatch(metadata);
      c.SetPhase(decode);
      if (s == 0) {
        c.Embed(n);
      } else {
        c.worker().WaitFor(handed);
        c.WriteActivations(handoff, n);
        traffic.pipeline_bytes += x_bytes;
      }
      int point = 0;
      for (int l = layers.begin; l < layers.end; ++l) {
        c.Layer(l, n, [&] {
          if (tp == 1) return c.AddOwnPartial(n);
          traffic.all_reduce_bytes += reductions[point++]->Enqueue(r, c.ReductionMember());
        });
      }
      if (next_handed != nullptr && r == 0) {
        // Every rank holds the same x after the reductions; rank 0 hands it on.
        c.ReadActivations(next_handoff, n);
        c.worker().Signal(next_handed);
        traffic.pipeline_bytes += x_bytes;
      }
      if (s == pp - 1 && !mb.logit_tokens.empty()) {
        c.Classify(static_cast<int>(mb.logit_tokens.size()), logits[r]);
      }
    }
    handed = next_handed;
    handoff = next_handoff;
  }
}

absl::Status LlamaProgram::Submit(const Batch& batch) {
  RETURN_IF_ERROR(CheckBatch(batch));
  const int tp = plan_.tensor_parallel, pp = plan_.pipeline_parallel;
  pending_ = PendingStep{};
  pending_.n_logits = static_cast<int>(batch.logit_tokens.size());
  // Micro-batches let stage s work on one while stage s + 1 works on the one before.
  const std::vector<Batch> micro = MicroBatches(batch, pp, pending_);
  for (const Batch& mb : micro) {
    std::vector<HostFloats>& logits = pending_.logits.emplace_back();
    for (int r = 0; r < tp; ++r) logits.push_back(std::make_shared<std::vector<float>>());
    EnqueueMicroBatch(mb, logits);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> LlamaProgram::Collect() {
  absl::Status status;
  for (auto& c : cards_) status.Update(c->worker().Sync());  // sync every card, keep the first
  RETURN_IF_ERROR(status);
  const int vocab = config_.vocab_size, pp = plan_.pipeline_parallel;
  std::vector<float> logits(size_t(pending_.n_logits) * vocab);
  for (int i = 0; i < pending_.n_logits; ++i) {
    const auto [m, k] = pending_.rows[i];
    for (int r = 0; r < plan_.tensor_parallel; ++r) {
      const Range slice = plan_.card(pp - 1, r).vocab;
      const std::vector<float>& part = *pending_.logits[m][r];
      std::copy_n(part.begin() + size_t(k) * slice.size(), slice.size(),
                  logits.begin() + size_t(i) * vocab + slice.begin);
    }
  }
  pending_ = PendingStep{};
  return logits;
}

bool LlamaProgram::Ready() const {
  return std::all_of(cards_.begin(), cards_.end(),
                     [](const std::unique_ptr<CardProgram>& c) { return c->worker().idle(); });
}

void LlamaProgram::OnCardIdle(const std::function<void()>& callback) {
  for (auto& c : cards_) c->worker().OnIdle(callback);
}

absl::StatusOr<std::vector<float>> LlamaProgram::Forward(const Batch& batch) {
  RETURN_IF_ERROR(Submit(batch));
  return Collect();
}

}  // namespace fabric
