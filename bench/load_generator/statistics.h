// Summary statistics over a sample, with numpy's definitions (what `vllm bench serve` reports):
// population standard deviation and linearly interpolated percentiles.
#ifndef FABRIC_BENCH_LOAD_GENERATOR_STATISTICS_H_
#define FABRIC_BENCH_LOAD_GENERATOR_STATISTICS_H_

#include <vector>

namespace fabric::bench {

struct Summary {
  double mean = 0;
  double median = 0;
  double std = 0;  // population (numpy's default, ddof = 0)
  double p99 = 0;
};

// The `p`-th percentile (0..100) of `sorted` (ascending), interpolating linearly between the
// closest ranks like numpy.percentile; 0 for an empty sample.
double Percentile(const std::vector<double>& sorted, double p);

// All zeros for an empty sample, as vLLM reports (np.mean(x or 0)).
Summary Summarize(std::vector<double> values);

}  // namespace fabric::bench

#endif  // FABRIC_BENCH_LOAD_GENERATOR_STATISTICS_H_
