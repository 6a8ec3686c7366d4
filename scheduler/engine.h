// The scheduler: one thread that owns every sequence, every KV-cache block and every batching
// decision, and runs steps on the cards.
#ifndef FABRIC_SCHEDULER_ENGINE_H_
#define FABRIC_SCHEDULER_ENGINE_H_

#include <atomic>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "model/kv_block_allocator.h"
#include "model/llama_program.h"
#include "model/tokenizer.h"
#include "scheduler/request.h"
#include "scheduler/serving_metrics.h"
#include "scheduler/sequence.h"

namespace fabric {

// What a model instance does: unified instances prefill and decode; prefill instances run
// prompts and hand each sequence, with its KV cache, to a decode instance.
enum class InstanceRole { kUnified, kPrefill, kDecode };

struct EngineInstance {
  LlamaProgram* program;
  InstanceRole role = InstanceRole::kUnified;
};

struct EngineOptions {
  int max_waiting_requests = 64;  // beyond this, Submit answers ResourceExhausted
};

// Continuous batching over one or more replicas of the model (each a program on its group of
// cards): every step, running sequences decode together, waiting ones join as KV blocks and
// batch limits allow (long prompts prefill in chunks), and finished or cancelled ones leave.
// Each instance steps at its own pace: while one runs a long prompt, another keeps decoding.
// KV blocks are taken as sequences grow; when they run out, the newest sequence is preempted
// (its blocks freed, its tokens recomputed when it is readmitted), so requests wait rather
// than fail.
// Submit, Drain and the counters are thread-safe; observers are called on the scheduler
// thread. The programs and tokenizer must outlive the engine, and a program serves one engine
// at a time (the engine takes its cards' idle callbacks).
class Engine {
 public:
  Engine(std::vector<EngineInstance> instances, const Tokenizer& tokenizer, EngineOptions options,
         ServingMetrics* metrics);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request. ResourceExhausted when the waiting queue is full, Unavailable once
  // draining, InvalidArgument when the prompt cannot fit the context.
  absl::StatusOr<std::shared_ptr<RequestHandle>> Submit(
      GenerationRequest request, std::shared_ptr<RequestObserver> observer);

  // Stops admitting new requests, lets queued and running ones finish for up to `timeout`,
  // cancels what is left, and stops the scheduler thread.
  void Drain(absl::Duration timeout);

  int running() const { return running_count_.load(); }
  int waiting() const { return waiting_count_.load(); }
  const ModelConfig& model_config() const { return replicas_[0].program->config(); }

 private:
  // A step submitted to an instance's cards and not yet collected.
  struct StepPlan {
    Batch batch;
    std::vector<std::pair<Sequence*, int>> fed;  // sequence, tokens fed this step
    std::vector<Sequence*> with_logits;          // in logit-row order
  };
  struct Replica {
    LlamaProgram* program;
    InstanceRole role;
    KvBlockAllocator blocks;
    // A list, so sequences joining or leaving never move those a step in flight points to;
    // none leaves while its instance has a step in flight.
    std::list<Sequence> running;
    std::optional<StepPlan> in_flight;
  };

  void Loop();
  // Whether some instance has a step on its cards.
  bool AnyInFlight() const;
  // Moves newly submitted requests into waiting_; false when the loop should exit.
  bool TakeArrivals();
  void DropCancelled();
  void Admit();
  // Gives every running sequence of `replica` the blocks its next tokens need, preempting the
  // newest sequences when the cache is full.
  void GrowOrPreempt(Replica& replica);
  // Moves sequences whose prompts an idle prefill instance has finished to decode instances
  // with room, KV cache and all (collecting the chosen instance's step in flight first); the
  // rest wait on the prefill instance for room.
  void HandOff(Replica& prefill, absl::Duration* card_wait);
  // A sequence on a prefill instance that has its next token and waits to move.
  static bool AwaitsHandOff(const Replica& replica, const Sequence& seq);
  // Starts a step on every idle instance with work, then collects the steps that have
  // finished (waiting for one if none has); false when there was nothing to do. Adds the time
  // it waited for the cards' results to *card_wait.
  bool Step(absl::Duration* card_wait);
  // Plans a step of `replica`'s work and submits it to its cards; false when it had none.
  bool Launch(Replica& replica);
  // Collects `replica`'s step in flight: emits its tokens and reaps what finished.
  void Complete(Replica& replica, absl::Duration* card_wait);
  // Blocks until some instance's step in flight has finished on its cards, or a request
  // arrives.
  void AwaitAnyFinished();
  // Samples from `logits` for `seq`, reports the token, and returns false if it finished.
  bool Emit(Sequence& seq, std::span<float> logits);
  void Finish(Sequence& seq, FinishReason reason, absl::Status status = absl::OkStatus());
  // Removes finished sequences from a replica, returning their blocks.
  void Reap(Replica& replica);

  const Tokenizer& tokenizer_;
  const EngineOptions options_;
  ServingMetrics* metrics_;  // may be null
  std::vector<Replica> replicas_;  // owned by the scheduler thread
  std::deque<Sequence> waiting_;   // owned by the scheduler thread

  // The cards' workers signal here when they run out of work (AwaitAnyFinished).
  absl::Mutex idle_mu_;
  absl::CondVar idle_cv_;
  std::atomic<bool> arrived_{false};  // requests in arrivals_ not yet taken by the loop

  absl::Mutex mu_;
  std::deque<Sequence> arrivals_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time drain_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::atomic<int> running_count_{0};
  std::atomic<int> waiting_count_{0};
  std::thread thread_;
};

}  // namespace fabric

#endif  // FABRIC_SCHEDULER_ENGINE_H_
