// Waiting for another thread without sleeping at once: a sleeping thread wakes tens of
// microseconds late, a sizeable part of a small model's step, so waiters first watch.
#ifndef FABRIC_COMMON_WATCH_BRIEFLY_H_
#define FABRIC_COMMON_WATCH_BRIEFLY_H_

#include <chrono>
#include <thread>

namespace fabric {

// How long a waiter watches before it sleeps: a step of a small model on a fast card.
inline constexpr std::chrono::microseconds kWatchBeforeSleep(300);

// Yields the core until `done()` holds or kWatchBeforeSleep has passed; returns done().
// Yielding, not spinning, so the threads doing the work still get the core on a busy host.
template <typename Predicate>
bool WatchBriefly(Predicate done) {
  const auto until = std::chrono::steady_clock::now() + kWatchBeforeSleep;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace fabric

#endif  // FABRIC_COMMON_WATCH_BRIEFLY_H_
