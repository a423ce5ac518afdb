// LatencyRecorder: a fixed-size log-linear histogram of durations, for
// p50 / p99 / p99.9 without keeping every sample.
//
//   LatencyRecorder latency;             // one per thread
//   latency.Record(absl::Now() - start);
//   ...
//   total.Merge(latency);                // after the threads joined
//   double p99 = total.PercentileMicros(99.0);
//
// Values are kept in nanoseconds in buckets whose width is at most 1/64 of
// their lower bound, so a percentile is exact to within about 1.6 %. Memory
// is constant (about 30 KB) whatever the number of samples.
//
// Thread compatible: one recorder per thread, merged afterwards.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace crm::bench {

class LatencyRecorder {
 public:
  LatencyRecorder() { buckets_.fill(0); }

  // Negative durations count as zero.
  void Record(absl::Duration latency);
  void Merge(const LatencyRecorder& other);

  uint64_t count() const { return count_; }

  // The latency below which `percentile` percent of the samples lie, in
  // microseconds (the middle of its bucket); 0 when nothing was recorded.
  // REQUIRES: 0 <= percentile <= 100.
  double PercentileMicros(double percentile) const;

 private:
  // Values below 2^kSubBits are exact; above, each power of two is split
  // into 2^(kSubBits-1) buckets.
  static constexpr int kSubBits = 7;
  static constexpr size_t kBuckets = (64 - kSubBits + 2) << (kSubBits - 1);

  static size_t BucketOf(uint64_t nanos);
  static double MiddleOf(size_t bucket);

  std::array<uint64_t, kBuckets> buckets_;
  uint64_t count_ = 0;
};

}  // namespace crm::bench
