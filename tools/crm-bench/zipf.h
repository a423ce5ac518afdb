// ZipfSampler: draws ranks 0 .. n-1 with probability proportional to
// 1 / (rank + 1)^s, so that with s = 1 a few ranks are hot and most are
// rarely drawn, as streams (aggregates) are in a real store.
//
//   ZipfSampler zipf(/*n=*/100'000, /*s=*/1.0);
//   std::mt19937_64 rng(seed);
//   size_t rank = zipf.Sample(rng);  // 0 is the hottest.
//
// The cumulative distribution is computed once (n doubles); Sample() is a
// binary search over it. Thread safety: Sample() is const and may be called
// from many threads, each with its own generator.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

namespace crm::bench {

class ZipfSampler {
 public:
  // REQUIRES: n >= 1, s >= 0.
  ZipfSampler(size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
      cdf_[i] = sum;
    }
    for (double& c : cdf_) c /= sum;
    cdf_.back() = 1.0;  // Rounding must not leave the last rank unreachable.
  }

  size_t size() const { return cdf_.size(); }

  template <typename Rng>
  size_t Sample(Rng& rng) const {
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
    return std::min(static_cast<size_t>(it - cdf_.begin()), cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

}  // namespace crm::bench
