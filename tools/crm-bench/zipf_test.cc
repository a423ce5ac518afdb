#include "zipf.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace crm::bench {
namespace {

TEST(ZipfSamplerTest, SamplesStayInRange) {
  const ZipfSampler zipf(10, 1.0);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10'000; ++i) EXPECT_LT(zipf.Sample(rng), 10u);
}

TEST(ZipfSamplerTest, FrequenciesFollowOneOverRank) {
  const ZipfSampler zipf(1000, 1.0);
  std::mt19937_64 rng(7);
  std::vector<int> counts(1000, 0);
  constexpr int kSamples = 200'000;
  for (int i = 0; i < kSamples; ++i) ++counts[zipf.Sample(rng)];
  // With s = 1, rank 0 is drawn twice as often as rank 1 and ten times as
  // often as rank 9.
  EXPECT_NEAR(static_cast<double>(counts[0]) / counts[1], 2.0, 0.1);
  EXPECT_NEAR(static_cast<double>(counts[0]) / counts[9], 10.0, 1.0);
  // H(1000) is about 7.485, so rank 0 gets about 13.4 % of the draws.
  EXPECT_NEAR(static_cast<double>(counts[0]) / kSamples, 1 / 7.485, 0.005);
}

TEST(ZipfSamplerTest, ExponentZeroIsUniform) {
  const ZipfSampler zipf(4, 0.0);
  std::mt19937_64 rng(3);
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 40'000; ++i) ++counts[zipf.Sample(rng)];
  for (int count : counts) EXPECT_NEAR(count, 10'000, 500);
}

TEST(ZipfSamplerTest, SingleRank) {
  const ZipfSampler zipf(1, 1.0);
  std::mt19937_64 rng(5);
  EXPECT_EQ(zipf.Sample(rng), 0u);
}

}  // namespace
}  // namespace crm::bench
