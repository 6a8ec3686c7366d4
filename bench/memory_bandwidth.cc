#include "bench/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace fabric {
namespace {

// Sums 64-bit words with eight independent accumulators so the loop is load-bound.
uint64_t SumWords(const uint64_t* words, size_t n) {
  uint64_t acc[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += words[i + j];
  }
  for (; i < n; ++i) acc[0] += words[i];
  uint64_t total = 0;
  for (uint64_t a : acc) total += a;
  return total;
}

}  // namespace

double MeasureReadBandwidth(size_t bytes, int threads, int repeats) {
  const size_t n = bytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> words(new uint64_t[n]);
  for (size_t i = 0; i < n; ++i) words[i] = i;  // touch every page before timing
  std::vector<uint64_t> sums(threads);
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const size_t begin = n * t / threads, end = n * (t + 1) / threads;
        sums[t] = SumWords(words.get() + begin, end - begin);
      });
    }
    for (std::thread& thread : pool) thread.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(static_cast<double>(n * sizeof(uint64_t)) / seconds);
  }
  // Using the sums keeps the compiler from dropping the reads.
  volatile uint64_t sink = 0;
  for (uint64_t s : sums) sink = sink + s;
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace fabric
