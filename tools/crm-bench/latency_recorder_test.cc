#include "latency_recorder.h"

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::bench {
namespace {

using ::testing::DoubleNear;

TEST(LatencyRecorderTest, EmptyRecorderReportsZero) {
  LatencyRecorder latency;
  EXPECT_EQ(latency.count(), 0u);
  EXPECT_EQ(latency.PercentileMicros(50), 0);
}

TEST(LatencyRecorderTest, PercentilesOfUniformSamplesWithinBucketWidth) {
  LatencyRecorder latency;
  for (int micros = 1; micros <= 10'000; ++micros) {
    latency.Record(absl::Microseconds(micros));
  }
  EXPECT_EQ(latency.count(), 10'000u);
  EXPECT_THAT(latency.PercentileMicros(50), DoubleNear(5000, 5000 * 0.016));
  EXPECT_THAT(latency.PercentileMicros(99), DoubleNear(9900, 9900 * 0.016));
  EXPECT_THAT(latency.PercentileMicros(99.9), DoubleNear(9990, 9990 * 0.016));
  EXPECT_THAT(latency.PercentileMicros(100),
              DoubleNear(10'000, 10'000 * 0.016));
}

TEST(LatencyRecorderTest, SmallValuesAreExact) {
  LatencyRecorder latency;
  latency.Record(absl::Nanoseconds(100));
  EXPECT_DOUBLE_EQ(latency.PercentileMicros(50), 0.1);
}

TEST(LatencyRecorderTest, NegativeAndHugeDurationsAreKept) {
  LatencyRecorder latency;
  latency.Record(absl::Nanoseconds(-5));
  latency.Record(absl::Hours(24 * 365));
  EXPECT_EQ(latency.count(), 2u);
  EXPECT_EQ(latency.PercentileMicros(50), 0);
  EXPECT_THAT(latency.PercentileMicros(100),
              DoubleNear(365 * 24 * 3600e6, 365 * 24 * 3600e6 * 0.016));
}

TEST(LatencyRecorderTest, MergeAddsSamples) {
  LatencyRecorder fast;
  LatencyRecorder slow;
  for (int i = 0; i < 99; ++i) fast.Record(absl::Microseconds(10));
  slow.Record(absl::Milliseconds(10));
  fast.Merge(slow);
  EXPECT_EQ(fast.count(), 100u);
  EXPECT_THAT(fast.PercentileMicros(99), DoubleNear(10, 0.2));
  EXPECT_THAT(fast.PercentileMicros(100), DoubleNear(10'000, 160));
}

}  // namespace
}  // namespace crm::bench
