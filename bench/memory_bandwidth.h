// Measures this machine's memory read bandwidth: the ceiling for bandwidth-bound decode.
#ifndef FABRIC_BENCH_MEMORY_BANDWIDTH_H_
#define FABRIC_BENCH_MEMORY_BANDWIDTH_H_

#include <cstddef>

namespace fabric {

// Median over `repeats` runs of the bytes per second for `threads` threads each summing its share of a
// `bytes`-sized buffer (far larger than the caches).
double MeasureReadBandwidth(size_t bytes, int threads, int repeats);

}  // namespace fabric

#endif  // FABRIC_BENCH_MEMORY_BANDWIDTH_H_
