#include "model/sampler.h"

#include <cmath>
#include <map>
#include <vector>

#include "gtest/gtest.h"

namespace fabric {
namespace {

TEST(SamplerTest, GreedyTakesTheFirstLargest) {
  Sampler sampler({.temperature = 0});
  EXPECT_EQ(sampler.Sample(std::vector<float>{0.1f, 3.0f, -1.0f, 3.0f}), 1);
}

TEST(SamplerTest, SameSeedSameSequence) {
  const std::vector<float> logits = {1.0f, 1.2f, 0.8f, 1.1f, 0.9f};
  Sampler a({.temperature = 1.0f, .seed = 9}), b({.temperature = 1.0f, .seed = 9});
  Sampler c({.temperature = 1.0f, .seed = 10});
  std::vector<int> from_a, from_b, from_c;
  for (int i = 0; i < 50; ++i) {
    from_a.push_back(a.Sample(logits));
    from_b.push_back(b.Sample(logits));
    from_c.push_back(c.Sample(logits));
  }
  EXPECT_EQ(from_a, from_b);
  EXPECT_NE(from_a, from_c);
}

std::map<int, int> Histogram(SamplingParams params, const std::vector<float>& logits, int n) {
  Sampler sampler(params);
  std::map<int, int> counts;
  for (int i = 0; i < n; ++i) ++counts[sampler.Sample(logits)];
  return counts;
}

TEST(SamplerTest, TemperatureSamplesTheSoftmax) {
  // Probabilities 0.5, 0.25, 0.25 at temperature 1.
  const std::vector<float> logits = {std::log(2.0f), 0.0f, 0.0f};
  std::map<int, int> counts = Histogram({.temperature = 1.0f, .seed = 3}, logits, 20000);
  EXPECT_NEAR(counts[0] / 20000.0, 0.5, 0.02);
  EXPECT_NEAR(counts[1] / 20000.0, 0.25, 0.02);
  EXPECT_NEAR(counts[2] / 20000.0, 0.25, 0.02);
}

TEST(SamplerTest, TopKAndTopPCutTheTail) {
  const std::vector<float> logits = {4.0f, 3.0f, 2.0f, 1.0f, 0.0f};
  std::map<int, int> top2 = Histogram({.temperature = 1.0f, .top_k = 2, .seed = 1}, logits, 5000);
  EXPECT_EQ(top2.size(), 2u);
  EXPECT_GT(top2[0], top2[1]);
  // Softmax: 0.64, 0.24, 0.09, ...; top_p 0.8 keeps the first two.
  std::map<int, int> nucleus =
      Histogram({.temperature = 1.0f, .top_p = 0.8f, .seed = 2}, logits, 5000);
  EXPECT_EQ(nucleus.size(), 2u);
  std::map<int, int> top1 = Histogram({.temperature = 5.0f, .top_k = 1, .seed = 4}, logits, 100);
  EXPECT_EQ(top1.size(), 1u);
  EXPECT_EQ(top1.begin()->first, 0);
}

}  // namespace
}  // namespace fabric
