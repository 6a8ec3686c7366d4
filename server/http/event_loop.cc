#include "server/http/event_loop.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"

namespace fabric::http_internal {
namespace {

// Makes libevent lock its bases, so that event_active() and event_base_loopbreak() may be
// called from other threads. Must happen before the first base is created.
bool EnableLibeventThreads() {
  static const bool enabled = evthread_use_pthreads() == 0;
  return enabled;
}

// A peer that closed its socket must not kill the process with SIGPIPE when the loop writes to
// it: blocked in the loop thread, the write fails with EPIPE instead.
void BlockSigpipeInThisThread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Notifies when destroyed: a task carrying one reports that it ran or was dropped.
class NotifyOnDestroy {
 public:
  explicit NotifyOnDestroy(absl::Notification* done) : done_(done) {}
  NotifyOnDestroy(NotifyOnDestroy&& other) : done_(std::exchange(other.done_, nullptr)) {}
  NotifyOnDestroy& operator=(NotifyOnDestroy&&) = delete;
  ~NotifyOnDestroy() {
    if (done_ != nullptr) done_->Notify();
  }

 private:
  absl::Notification* done_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<EventLoop>> EventLoop::Create() {
  if (!EnableLibeventThreads()) {
    return absl::InternalError("libevent: cannot enable pthread locking");
  }
  event_base* base = event_base_new();
  if (base == nullptr) return absl::InternalError("libevent: cannot create an event base");
  std::shared_ptr<EventLoop> loop(new EventLoop(base));
  loop->wake_ = event_new(base, -1, 0, &EventLoop::OnWake, loop.get());
  if (loop->wake_ == nullptr) return absl::InternalError("libevent: cannot create an event");
  return loop;
}

EventLoop::EventLoop(event_base* base) : base_(base) {}

EventLoop::~EventLoop() {
  Stop();
  if (wake_ != nullptr) event_free(wake_);
  event_base_free(base_);
}

void EventLoop::Start(Task on_stop) {
  absl::MutexLock lock(&stop_mu_);
  on_stop_ = std::move(on_stop);
  thread_ = std::thread([this] { Run(); });
}

bool EventLoop::Post(Task task) {
  absl::MutexLock lock(&mu_);
  if (closed_) return false;
  tasks_.push_back(std::move(task));
  if (!wake_scheduled_) {
    // A zero timeout rather than event_active(): libevent runs events activated while it runs
    // callbacks in the same pass, so a thread posting fast enough would keep it from ever
    // polling sockets again. A timer fires only after the next poll. event_add() is safe from
    // any thread (the base is locked), and one added before the loop runs is kept.
    static constexpr timeval kNow = {0, 0};
    event_add(wake_, &kNow);
    wake_scheduled_ = true;
  }
  return true;
}

bool EventLoop::RunAndWait(Task task) {
  if (InLoopThread()) {
    task();
    return true;
  }
  bool ran = false;
  absl::Notification done;
  const bool queued = Post([&task, &ran, signal = NotifyOnDestroy(&done)] {
    task();
    ran = true;
  });
  if (queued) done.WaitForNotification();
  return ran;
}

void EventLoop::Stop() {
  if (InLoopThread()) {
    std::fprintf(stderr, "fabric: the HTTP event loop cannot stop itself from its own thread\n");
    std::abort();
  }
  absl::MutexLock lock(&stop_mu_);
  if (!thread_.joinable()) return;
  // A task rather than a direct loopbreak: a break requested before the loop starts is lost.
  Post([this] { event_base_loopbreak(base_); });
  thread_.join();
}

void EventLoop::OnWake(int /*fd*/, short /*what*/, void* arg) {
  static_cast<EventLoop*>(arg)->RunTasks();
}

void EventLoop::RunTasks() {
  std::deque<Task> batch;
  {
    absl::MutexLock lock(&mu_);
    batch.swap(tasks_);
    wake_scheduled_ = false;
  }
  for (Task& task : batch) task();
}

void EventLoop::Run() {
  loop_thread_id_ = std::this_thread::get_id();
  BlockSigpipeInThisThread();
  event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
  if (on_stop_) on_stop_();
  std::deque<Task> dropped;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    dropped.swap(tasks_);
  }
  // `dropped` is destroyed outside the lock: a task's captures may post again.
  dropped.clear();
  loop_thread_id_ = std::thread::id();
}

}  // namespace fabric::http_internal
