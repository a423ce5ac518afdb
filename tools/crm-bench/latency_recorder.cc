#include "latency_recorder.h"

#include <bit>
#include <cmath>

namespace crm::bench {
namespace {

constexpr uint64_t kHalf = uint64_t{1} << 6;  // 2^(kSubBits-1)

}  // namespace

size_t LatencyRecorder::BucketOf(uint64_t nanos) {
  if (nanos < (uint64_t{1} << kSubBits)) return static_cast<size_t>(nanos);
  // shift >= 1 makes nanos >> shift fall in [2^(kSubBits-1), 2^kSubBits).
  const int shift = static_cast<int>(std::bit_width(nanos)) - kSubBits;
  const uint64_t sub = (nanos >> shift) - kHalf;
  return static_cast<size_t>((uint64_t{1} << kSubBits) +
                             (static_cast<uint64_t>(shift) - 1) * kHalf + sub);
}

double LatencyRecorder::MiddleOf(size_t bucket) {
  if (bucket < (size_t{1} << kSubBits)) return static_cast<double>(bucket);
  const size_t above = bucket - (size_t{1} << kSubBits);
  const int shift = static_cast<int>(above / kHalf) + 1;
  const double lower =
      std::ldexp(static_cast<double>(kHalf + above % kHalf), shift);
  const double width = std::ldexp(1.0, shift);
  return lower + (width - 1) / 2;
}

void LatencyRecorder::Record(absl::Duration latency) {
  const int64_t nanos = absl::ToInt64Nanoseconds(latency);
  ++buckets_[BucketOf(nanos < 0 ? 0 : static_cast<uint64_t>(nanos))];
  ++count_;
}

void LatencyRecorder::Merge(const LatencyRecorder& other) {
  for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
}

double LatencyRecorder::PercentileMicros(double percentile) const {
  if (count_ == 0) return 0;
  // The rank of the sample sought, 1-based: the smallest value with at least
  // percentile % of the samples at or below it.
  uint64_t rank = static_cast<uint64_t>(
      std::ceil(percentile / 100.0 * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return MiddleOf(i) / 1000.0;
  }
  return MiddleOf(kBuckets - 1) / 1000.0;
}

}  // namespace crm::bench
