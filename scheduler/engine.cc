#include "scheduler/engine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/watch_briefly.h"
#include "model/kv_transfer.h"

namespace fabric {
namespace {

int BlocksFor(int positions, int block_size) { return (positions + block_size - 1) / block_size; }

}  // namespace

Engine::Engine(std::vector<EngineInstance> instances, const Tokenizer& tokenizer,
               EngineOptions options, ServingMetrics* metrics)
    : tokenizer_(tokenizer), options_(options), metrics_(metrics) {
  for (const EngineInstance& instance : instances) {
    LlamaProgram* program = instance.program;
    replicas_.push_back(Replica{
        program, instance.role,
        KvBlockAllocator(program->kv_blocks(), program->options().kv_block_size), {},
        std::nullopt});
  }
  // A lone instance's steps are collected by Collect's own wait; several are waited for
  // together (AwaitAnyFinished), woken by their cards.
  if (replicas_.size() > 1) {
    for (Replica& replica : replicas_) {
      replica.program->OnCardIdle([this] {
        absl::MutexLock lock(&idle_mu_);
        idle_cv_.SignalAll();
      });
    }
  }
  thread_ = std::thread([this] { Loop(); });
}

Engine::~Engine() {
  Drain(absl::ZeroDuration());
  if (replicas_.size() > 1) {
    for (Replica& replica : replicas_) replica.program->OnCardIdle(nullptr);
  }
}

absl::StatusOr<std::shared_ptr<RequestHandle>> Engine::Submit(
    GenerationRequest request, std::shared_ptr<RequestObserver> observer) {
  const int context = model_config().context_length;
  const int prompt = static_cast<int>(request.prompt_tokens.size());
  if (prompt == 0) return absl::InvalidArgumentError("the prompt has no tokens");
  if (prompt >= context) {
    return absl::InvalidArgumentError(absl::StrCat(
        "this model's maximum context length is ", context, " tokens; the prompt has ", prompt,
        " (room is needed for at least one generated token)"));
  }
  for (const Replica& replica : replicas_) {
    const int needed = BlocksFor(prompt + 1, replica.blocks.block_size());
    if (needed > replica.blocks.num_blocks()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the prompt needs ", needed, " KV-cache blocks and a card's cache holds ",
          replica.blocks.num_blocks(), "; raise model.kv_blocks"));
    }
  }
  for (int token : request.prompt_tokens) {
    if (token < 0 || token >= model_config().vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", token, " is outside the ",
                                                     model_config().vocab_size,
                                                     "-token vocabulary"));
    }
  }
  std::shared_ptr<RequestHandle> handle;
  {
    absl::MutexLock lock(&mu_);
    if (draining_) return absl::UnavailableError("the server is shutting down");
    if (waiting_count_.load() >= options_.max_waiting_requests) {
      return absl::ResourceExhaustedError(absl::StrCat("the request queue is full (",
                                                       options_.max_waiting_requests,
                                                       " waiting); retry later"));
    }
    handle = arrivals_.emplace_back(next_id_++, std::move(request), std::move(observer)).handle;
    ++waiting_count_;
    arrived_ = true;
  }
  if (metrics_) metrics_->waiting.Set(waiting_count_.load());
  if (replicas_.size() > 1) {
    // An idle instance may start on it while another's step runs (AwaitAnyFinished).
    absl::MutexLock lock(&idle_mu_);
    idle_cv_.SignalAll();
  }
  return handle;
}

void Engine::Drain(absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (!draining_) {
      draining_ = true;
      drain_deadline_ = absl::Now() + timeout;
    } else {
      drain_deadline_ = std::min(drain_deadline_, absl::Now() + timeout);
    }
  }
  if (thread_.joinable()) thread_.join();
}

bool Engine::AnyInFlight() const {
  return std::any_of(replicas_.begin(), replicas_.end(),
                     [](const Replica& r) { return r.in_flight.has_value(); });
}

bool Engine::TakeArrivals() {
  const bool stepping = AnyInFlight();
  absl::MutexLock lock(&mu_);
  const bool idle = waiting_.empty() && running_count_.load() == 0 && !stepping;
  auto ready = [this, idle]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !idle || !arrivals_.empty() || draining_;
  };
  // While idle, sleep until work arrives; a draining engine rechecks its deadline.
  mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(100));
  while (!arrivals_.empty()) {
    waiting_.push_back(std::move(arrivals_.front()));
    arrivals_.pop_front();
  }
  arrived_ = false;
  if (draining_ && absl::Now() >= drain_deadline_) {
    // Out of time: whatever is left is cancelled.
    for (Sequence& seq : waiting_) seq.handle->Cancel();
    for (Replica& replica : replicas_) {
      for (Sequence& seq : replica.running) seq.handle->Cancel();
    }
  }
  const bool empty = waiting_.empty() && running_count_.load() == 0;
  return !(draining_ && empty);
}

void Engine::Loop() {
  while (TakeArrivals()) {
    const absl::Time start = absl::Now();
    absl::Duration card_wait;
    DropCancelled();
    Admit();
    const bool stepped = Step(&card_wait);
    if (metrics_ && stepped) {
      metrics_->steps.Increment();
      metrics_->host_seconds.Increment(absl::ToDoubleSeconds(absl::Now() - start - card_wait));
    }
    if (metrics_) {
      metrics_->running.Set(running_count_.load());
      metrics_->waiting.Set(waiting_count_.load());
      int used = 0, total = 0;
      for (const Replica& replica : replicas_) {
        used += replica.blocks.num_blocks() - replica.blocks.free_blocks();
        total += replica.blocks.num_blocks();
      }
      metrics_->kv_cache_usage.Set(total == 0 ? 0.0 : double(used) / total);
    }
  }
  absl::Duration ignored;
  for (Replica& replica : replicas_) {
    if (replica.in_flight.has_value()) Complete(replica, &ignored);  // cancelled while running
  }
}

void Engine::DropCancelled() {
  const absl::Time now = absl::Now();
  auto expired = [now](const Sequence& seq) {
    return seq.handle->cancelled() || now >= seq.request.deadline;
  };
  auto status_of = [now](const Sequence& seq) {
    return now >= seq.request.deadline && !seq.handle->cancelled()
               ? absl::DeadlineExceededError("the request's deadline passed")
               : absl::CancelledError("the request was cancelled");
  };
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (expired(*it)) {
      Finish(*it, FinishReason::kCancelled, status_of(*it));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  for (Replica& replica : replicas_) {
    for (Sequence& seq : replica.running) {
      if (expired(seq)) Finish(seq, FinishReason::kCancelled, status_of(seq));
    }
    if (!replica.in_flight.has_value()) Reap(replica);  // else when its step is collected
  }
}

void Engine::Admit() {
  while (!waiting_.empty()) {
    Sequence& seq = waiting_.front();
    // Blocks for what it must prefill now: its prompt, or all its tokens after a preemption.
    const int positions = static_cast<int>(seq.tokens.size());
    // The replica with the fewest running sequences that can hold this one.
    Replica* best = nullptr;
    for (Replica& replica : replicas_) {
      if (replica.role == InstanceRole::kDecode) continue;  // prompts run elsewhere
      const bool room =
          static_cast<int>(replica.running.size()) < replica.program->options().max_sequences &&
          replica.blocks.free_blocks() >= BlocksFor(positions, replica.blocks.block_size());
      if (room && (best == nullptr || replica.running.size() < best->running.size())) {
        best = &replica;
      }
    }
    if (best == nullptr) return;  // first come, first served: nobody overtakes the head
    if (!best->blocks.Reserve(positions, seq.blocks).ok()) return;
    if (seq.scheduled == absl::InfinitePast()) {
      seq.scheduled = absl::Now();
      if (metrics_) {
        metrics_->queue_time.Observe(absl::ToDoubleSeconds(seq.scheduled - seq.arrival));
        metrics_->prompt_tokens.Increment(seq.prompt_len);
      }
    }
    seq.running = true;
    best->running.push_back(std::move(seq));
    waiting_.pop_front();
    --waiting_count_;
    ++running_count_;
  }
}

void Engine::GrowOrPreempt(Replica& replica) {
  // Oldest first: when blocks run out, the newest sequence gives its blocks back and waits at
  // the head of the queue to be recomputed, so the oldest keep their progress.
  for (auto it = replica.running.begin(); it != replica.running.end(); ++it) {
    while (!replica.blocks.Reserve(static_cast<int>(it->tokens.size()), it->blocks).ok()) {
      if (replica.running.size() == 1) {
        // Alone and still out of room: the cache cannot hold this sequence any longer.
        Finish(*it, FinishReason::kLength);
        return;
      }
      auto newest = std::prev(replica.running.end());
      const bool self = newest == it;
      replica.blocks.Release(newest->blocks);
      newest->processed = 0;
      newest->running = false;
      waiting_.push_front(std::move(*newest));
      replica.running.erase(newest);
      --running_count_;
      ++waiting_count_;
      if (metrics_) metrics_->preemptions.Increment();
      if (self) return;
    }
  }
}

bool Engine::Step(absl::Duration* card_wait) {
  bool worked = false;
  for (Replica& replica : replicas_) {
    if (!replica.in_flight.has_value()) worked |= Launch(replica);
  }
  // One instance: Collect waits for its step. Several: the engine waits for whichever step
  // finishes first, or for a new request an idle instance could start on.
  const bool alone = replicas_.size() == 1;
  if (!alone && AnyInFlight()) {
    const absl::Time waiting = absl::Now();
    AwaitAnyFinished();
    *card_wait += absl::Now() - waiting;
  }
  for (Replica& replica : replicas_) {
    if (replica.in_flight.has_value() && (alone || replica.program->Ready())) {
      Complete(replica, card_wait);
      worked = true;
    }
  }
  for (Replica& replica : replicas_) {
    if (replica.role == InstanceRole::kPrefill && !replica.in_flight.has_value()) {
      HandOff(replica, card_wait);
    }
  }
  return worked;
}

bool Engine::Launch(Replica& replica) {
  GrowOrPreempt(replica);
  Reap(replica);
  StepPlan plan;
  int budget = replica.program->options().max_batch_tokens;
  // Decoding sequences first (one token each) so a long prompt never stalls them; then
  // prompts, in chunks that fill the rest of the step's token budget.
  std::vector<Sequence*> order;
  for (Sequence& seq : replica.running) {
    if (!AwaitsHandOff(replica, seq)) order.push_back(&seq);
  }
  std::stable_partition(order.begin(), order.end(), [](Sequence* seq) {
    return static_cast<int>(seq->tokens.size()) - seq->processed == 1;
  });
  for (Sequence* seq : order) {
    const int remaining = static_cast<int>(seq->tokens.size()) - seq->processed;
    const int take = std::min(remaining, budget);
    if (take <= 0) continue;
    const int index = static_cast<int>(plan.batch.block_tables.size());
    plan.batch.block_tables.push_back(seq->blocks);
    for (int i = 0; i < take; ++i) {
      const int position = seq->processed + i;
      const bool last = position + 1 == static_cast<int>(seq->tokens.size());
      plan.batch.Add(seq->tokens[position], position, index, last);
      if (last) plan.with_logits.push_back(seq);
    }
    plan.fed.emplace_back(seq, take);
    budget -= take;
  }
  if (plan.batch.size() == 0) return false;
  if (metrics_) {
    metrics_->batch_sequences.Observe(static_cast<double>(plan.fed.size()));
    metrics_->batch_tokens.Observe(plan.batch.size());
  }
  if (absl::Status submitted = replica.program->Submit(plan.batch); !submitted.ok()) {
    for (auto& [seq, n] : plan.fed) Finish(*seq, FinishReason::kError, submitted);
    Reap(replica);
    return false;
  }
  replica.in_flight = std::move(plan);
  return true;
}

void Engine::Complete(Replica& replica, absl::Duration* card_wait) {
  const StepPlan plan = *std::move(replica.in_flight);
  replica.in_flight.reset();
  const absl::Time collecting = absl::Now();
  absl::StatusOr<std::vector<float>> logits = replica.program->Collect();
  *card_wait += absl::Now() - collecting;
  if (!logits.ok()) {
    for (auto& [seq, n] : plan.fed) Finish(*seq, FinishReason::kError, logits.status());
    Reap(replica);
    return;
  }
  for (auto& [seq, n] : plan.fed) seq->processed += n;
  const int vocab = model_config().vocab_size;
  for (size_t i = 0; i < plan.with_logits.size(); ++i) {
    Sequence& seq = *plan.with_logits[i];
    if (seq.finished) continue;  // cancelled while its step ran
    Emit(seq, std::span<float>(logits->data() + i * vocab, vocab));
  }
  Reap(replica);
}

void Engine::AwaitAnyFinished() {
  auto finished = [this] {
    return arrived_.load() || std::any_of(replicas_.begin(), replicas_.end(), [](const Replica& r) {
             return r.in_flight.has_value() && r.program->Ready();
           });
  };
  if (WatchBriefly(finished)) return;
  absl::MutexLock lock(&idle_mu_);
  // The cards' idle callbacks signal; the timeout only bounds a missed signal's cost.
  while (!finished()) idle_cv_.WaitWithTimeout(&idle_mu_, absl::Milliseconds(10));
}

bool Engine::AwaitsHandOff(const Replica& replica, const Sequence& seq) {
  return replica.role == InstanceRole::kPrefill && seq.generated() > 0 &&
         static_cast<int>(seq.tokens.size()) - seq.processed == 1;
}

void Engine::HandOff(Replica& prefill, absl::Duration* card_wait) {
  for (auto it = prefill.running.begin(); it != prefill.running.end();) {
    Sequence& seq = *it;
    if (seq.finished || !AwaitsHandOff(prefill, seq)) {
      ++it;
      continue;
    }
    // The decode instance with the fewest sequences that has room for this one.
    Replica* target = nullptr;
    for (Replica& replica : replicas_) {
      if (replica.role != InstanceRole::kDecode) continue;
      const bool room =
          static_cast<int>(replica.running.size()) < replica.program->options().max_sequences &&
          replica.blocks.free_blocks() >=
              BlocksFor(static_cast<int>(seq.tokens.size()), replica.blocks.block_size());
      if (room && (target == nullptr || replica.running.size() < target->running.size())) {
        target = &replica;
      }
    }
    if (target == nullptr) return;  // in order: the next may not move before this one
    // KV caches move between idle programs: the target's step in flight finishes first.
    if (target->in_flight.has_value()) Complete(*target, card_wait);
    std::vector<int> blocks;
    if (!target->blocks.Reserve(static_cast<int>(seq.tokens.size()), blocks).ok()) return;
    const absl::Time start = absl::Now();
    absl::StatusOr<uint64_t> moved =
        TransferKv(*prefill.program, seq.blocks, *target->program, blocks, seq.processed);
    if (!moved.ok()) {
      target->blocks.Release(blocks);
      Finish(seq, FinishReason::kError, moved.status());
      ++it;
      continue;
    }
    if (metrics_) {
      metrics_->kv_transfer_bytes.Increment(static_cast<double>(*moved));
      metrics_->kv_transfer_seconds.Increment(absl::ToDoubleSeconds(absl::Now() - start));
    }
    prefill.blocks.Release(seq.blocks);
    seq.blocks = std::move(blocks);
    target->running.push_back(std::move(seq));
    it = prefill.running.erase(it);
  }
}

bool Engine::Emit(Sequence& seq, std::span<float> logits) {
  const Vocabulary& vocabulary = tokenizer_.vocabulary();
  seq.logits.Apply(logits);
  const int token = seq.sampler.Sample(logits);
  if (token == vocabulary.eos_id || token == vocabulary.bos_id) {
    Finish(seq, FinishReason::kStop);
    return false;
  }
  TokenOutput output;
  output.token = token;
  if (seq.request.top_logprobs >= 0) {
    output.logprob = LogitsProcessor::Logprob(logits, token);
    output.top_logprobs = LogitsProcessor::TopLogprobs(logits, seq.request.top_logprobs);
  }
  const int previous = seq.tokens.back();
  seq.tokens.push_back(token);
  seq.logits.Count(token);
  output.text = seq.stop.Add(seq.utf8.Add(tokenizer_.Decode(previous, token)));

  const absl::Time now = absl::Now();
  if (metrics_) {
    metrics_->generation_tokens.Increment();
    if (seq.generated() == 1) {
      metrics_->time_to_first_token.Observe(absl::ToDoubleSeconds(now - seq.arrival));
    } else {
      metrics_->inter_token_latency.Observe(absl::ToDoubleSeconds(now - seq.last_token));
    }
  }
  seq.last_token = now;
  seq.observer->OnToken(output);
  if (seq.stop.stopped()) {
    Finish(seq, FinishReason::kStop);
    return false;
  }
  // The next token would sit at position tokens.size() - 1, past the context: stop here.
  if (seq.generated() >= seq.request.max_tokens ||
      static_cast<int>(seq.tokens.size()) > model_config().context_length) {
    Finish(seq, FinishReason::kLength);
    return false;
  }
  return true;
}

void Engine::Finish(Sequence& seq, FinishReason reason, absl::Status status) {
  if (seq.finished) return;
  seq.finished = true;
  // Counted out before the observer hears of it, so a client that sees its request finish
  // never sees it still counted.
  --(seq.running ? running_count_ : waiting_count_);
  FinishInfo info;
  info.reason = reason;
  info.status = std::move(status);
  info.text = seq.stop.Add(seq.utf8.Flush());
  info.text += seq.stop.Flush();
  info.prompt_tokens = seq.prompt_len;
  info.completion_tokens = seq.generated();
  if (metrics_) {
    metrics_->e2e_latency.Observe(absl::ToDoubleSeconds(absl::Now() - seq.arrival));
    metrics_->Finished(reason).Increment();
  }
  seq.observer->OnFinish(info);
}

void Engine::Reap(Replica& replica) {
  for (auto it = replica.running.begin(); it != replica.running.end();) {
    if (it->finished) {
      replica.blocks.Release(it->blocks);
      it = replica.running.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace fabric
