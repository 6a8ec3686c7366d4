// Throughput of the decode hot path (matvec_q8_0, matvec_f32, one token) on this CPU. Not part of
// the default suite (every test is DISABLED_) and it asserts nothing about time: run it by hand
// after changing kernels/dot.h, on an otherwise idle machine:
//   build/tests/kernels/kernels_throughput_test --gtest_also_run_disabled_tests
// It reports, for a 5632 x 2048 matrix (TinyLlama's FFN shape), the weight bytes streamed per
// second from a cache-resident matrix and from a set of matrices far larger than the last-level
// cache (the decode case), on 1 and 2 threads.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/formats.h"
#include "kernels/kernels.h"

namespace fabric {
namespace {

constexpr int kRows = 5632;
constexpr int kCols = 2048;

// Best-of-5 seconds for `pass`, split over `threads` threads by row range.
double BestSeconds(int threads, const std::function<void(int, int)>& pass) {
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int k = 1; k < threads; ++k) {
      workers.emplace_back(pass, kRows * k / threads, kRows * (k + 1) / threads);
    }
    pass(0, kRows / threads);
    for (std::thread& worker : workers) worker.join();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

// Random quants under one scale.
void FillRandomBlocks(std::vector<BlockQ8_0>& blocks, float scale, std::mt19937& rng) {
  for (BlockQ8_0& b : blocks) {
    b.d = Fp32ToFp16(scale);
    for (int8_t& q : b.qs) q = static_cast<int8_t>(rng());
  }
}

TEST(KernelsThroughputTest, DISABLED_MatvecQ8_0) {
  constexpr int kBlocks = kCols / kQ8BlockSize;
  constexpr int64_t kMatrixBlocks = static_cast<int64_t>(kRows) * kBlocks;
  std::mt19937 rng(1);
  for (int matrices : {1, 64}) {  // 12 MB (cache) and 800 MB (memory)
    std::vector<BlockQ8_0> w(kMatrixBlocks * matrices), x(kBlocks);
    FillRandomBlocks(w, 0.01f, rng);
    FillRandomBlocks(x, 0.02f, rng);
    std::vector<float> out(kRows);
    for (int threads : {1, 2}) {
      const double seconds = BestSeconds(threads, [&](int begin, int end) {
        for (int m = 0; m < matrices; ++m) {
          matvec_q8_0(w.data() + m * kMatrixBlocks, x.data(), out.data(), 1, kCols, kRows, begin,
                      end);
        }
      });
      const double bytes = static_cast<double>(w.size()) * sizeof(BlockQ8_0);
      std::printf("matvec_q8_0 %dx%d, %d matrices (%.0f MB), %d thread(s): %.2f GB/s\n", kRows,
                  kCols, matrices, bytes / 1e6, threads, bytes / seconds / 1e9);
    }
  }
}

// Decode batches: one pass over a cache-resident 5632 x 2048 Q8_0 matrix (12 MB) for n_tokens
// sequences, on 1 thread. Reports the weight bytes streamed per second (each pass reads the
// weights once, whatever n_tokens) and the time per (token, row) output.
TEST(KernelsThroughputTest, DISABLED_MatvecQ8_0Batched) {
  constexpr int kBlocks = kCols / kQ8BlockSize;
  constexpr int64_t kMatrixBlocks = static_cast<int64_t>(kRows) * kBlocks;
  constexpr int kMaxTokens = 16;
  std::mt19937 rng(3);
  std::vector<BlockQ8_0> w(kMatrixBlocks), x(static_cast<int64_t>(kMaxTokens) * kBlocks);
  FillRandomBlocks(w, 0.01f, rng);
  FillRandomBlocks(x, 0.02f, rng);
  std::vector<float> out(static_cast<size_t>(kMaxTokens) * kRows);
  for (int n_tokens : {1, 4, 16}) {
    const double seconds = BestSeconds(1, [&](int begin, int end) {
      matvec_q8_0(w.data(), x.data(), out.data(), n_tokens, kCols, kRows, begin, end);
    });
    const double bytes = static_cast<double>(w.size()) * sizeof(BlockQ8_0);
    std::printf("matvec_q8_0 %dx%d, n_tokens %2d, 1 thread: %.2f GB/s of weights, %.2f ns per "
                "token-row\n",
                kRows, kCols, n_tokens, bytes / seconds / 1e9,
                seconds * 1e9 / (static_cast<double>(n_tokens) * kRows));
  }
}

TEST(KernelsThroughputTest, DISABLED_MatvecF32) {
  constexpr int64_t kMatrixFloats = static_cast<int64_t>(kRows) * kCols;
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int matrices : {1, 16}) {  // 46 MB and 740 MB
    std::vector<float> w(kMatrixFloats * matrices), x(kCols), out(kRows);
    for (float& v : w) v = dist(rng);
    for (float& v : x) v = dist(rng);
    for (int threads : {1, 2}) {
      const double seconds = BestSeconds(threads, [&](int begin, int end) {
        for (int m = 0; m < matrices; ++m) {
          matvec_f32(w.data() + m * kMatrixFloats, x.data(), out.data(), 1, kCols, kRows, begin,
                     end);
        }
      });
      const double bytes = static_cast<double>(w.size()) * sizeof(float);
      std::printf("matvec_f32 %dx%d, %d matrices (%.0f MB), %d thread(s): %.2f GB/s\n", kRows,
                  kCols, matrices, bytes / 1e6, threads, bytes / seconds / 1e9);
    }
  }
}

// Plain streaming read of the same volume: the machine's memory-bandwidth ceiling.
TEST(KernelsThroughputTest, DISABLED_MemoryReadCeiling) {
  std::vector<int32_t> data(static_cast<size_t>(200) << 20, 1);  // 800 MB
  for (int threads : {1, 2}) {
    std::vector<int64_t> sums(threads);
    const double seconds = BestSeconds(threads, [&](int begin, int end) {
      const size_t lo = data.size() / kRows * begin, hi = data.size() / kRows * end;
      int32_t lanes[16] = {};
      for (size_t i = lo; i + 16 <= hi; i += 16) {
        for (int l = 0; l < 16; ++l) lanes[l] += data[i + l];
      }
      int64_t sum = 0;
      for (int32_t lane : lanes) sum += lane;
      sums[begin == 0 ? 0 : threads - 1] = sum;
    });
    const double bytes = static_cast<double>(data.size()) * sizeof(int32_t);
    std::printf("streaming read (%.0f MB), %d thread(s): %.2f GB/s (checksum %lld)\n", bytes / 1e6,
                threads, bytes / seconds / 1e9,
                static_cast<long long>(sums[0] + (threads > 1 ? sums[threads - 1] : 0)));
  }
}

}  // namespace
}  // namespace fabric
