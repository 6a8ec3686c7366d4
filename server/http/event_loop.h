// The libevent event loop behind HttpServer: one event_base, the one thread that runs it, and a
// queue through which other threads get code run on that thread.
#ifndef FABRIC_SERVER_HTTP_EVENT_LOOP_H_
#define FABRIC_SERVER_HTTP_EVENT_LOOP_H_

#include <atomic>
#include <deque>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

struct event;
struct event_base;

namespace fabric::http_internal {

// Owns an event_base (created with libevent's pthread locking, so other threads may wake it),
// the thread that runs it and a FIFO of tasks for that thread. Owned through a shared_ptr by
// the server; per-request state holds weak_ptrs, so a responder that outlives the server finds
// the loop gone instead of dangling. Post(), RunAndWait(), Stop() and InLoopThread() are
// thread-safe; base() is for the loop thread, or for setup before Start().
class EventLoop {
 public:
  using Task = absl::AnyInvocable<void()>;

  static absl::StatusOr<std::shared_ptr<EventLoop>> Create();
  // Stops the loop if it still runs, then frees the base.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  event_base* base() const { return base_; }

  // Starts the loop thread. After Stop() has ended the loop, `on_stop` runs on the loop thread
  // (free every libevent object tied to the base there), then unrun tasks are dropped.
  void Start(Task on_stop);

  // Queues `task` to run on the loop thread after those queued before it. Returns false and
  // drops the task once the loop has stopped.
  bool Post(Task task);

  // Runs `task` on the loop thread and waits until it has run (inline when called on the loop
  // thread). Returns false if the loop stopped before running it.
  bool RunAndWait(Task task);

  // Ends the loop, runs `on_stop`, drops unrun tasks and joins the thread. Idempotent. Aborts
  // if called on the loop thread, which cannot join itself.
  void Stop();

  bool InLoopThread() const { return std::this_thread::get_id() == loop_thread_id_.load(); }

 private:
  explicit EventLoop(event_base* base);

  static void OnWake(int fd, short what, void* arg);
  void RunTasks();
  void Run();

  event_base* const base_;
  event* wake_ = nullptr;  // a timer that Post() schedules to run the tasks
  Task on_stop_;           // loop thread
  std::atomic<std::thread::id> loop_thread_id_{};

  absl::Mutex mu_;
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
  bool wake_scheduled_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // the loop has stopped; Post() drops tasks

  absl::Mutex stop_mu_;  // serializes Stop()
  std::thread thread_ ABSL_GUARDED_BY(stop_mu_);
};

}  // namespace fabric::http_internal

#endif  // FABRIC_SERVER_HTTP_EVENT_LOOP_H_
