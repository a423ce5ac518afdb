// The relay under broker faults: every broker down under steady appends, one
// partition's leader down, and produce requests failing with retriable
// errors.
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "crm/bus/outbox_relay.h"
#include "crm/testing/status_matchers.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "relay_test_util.h"

namespace crm::bus {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using test_util::AppendOne;
using test_util::AppendRoundRobin;
using test_util::ExpectTopicHoldsLog;

// Kafka's API key of Produce requests (RD_KAFKAP_Produce, not in the public
// headers of librdkafka 2.0.2).
constexpr int16_t kProduceApiKey = 0;

// Appends one event every few milliseconds, round robin over 20 streams,
// until stopped (at most 10,000 events), checking that every append works.
class SteadyAppender {
 public:
  explicit SteadyAppender(eventstore::EventStore& store)
      : thread_([this, &store] {
          for (int i = 0; i < 10'000 && !stop_.load(); ++i) {
            const absl::Status status =
                AppendOne(store, fmt::format("contact-{}", i % 20));
            if (!status.ok()) failures_.fetch_add(1);
            appended_.fetch_add(1);
            absl::SleepFor(absl::Milliseconds(3));
          }
        }) {}
  ~SteadyAppender() { Stop(); }

  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int appended() const { return appended_.load(); }
  int failures() const { return failures_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> appended_{0};
  std::atomic<int> failures_{0};
  std::thread thread_;
};

class OutboxRelayFaultTest : public test_util::RelayTestBase {
 protected:
  OutboxRelayFaultTest() : RelayTestBase(/*brokers=*/3) {}
};

TEST_F(OutboxRelayFaultTest, AllBrokersDownUnderSteadyAppendsLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartRelay());
  ASSERT_NO_FATAL_FAILURE(AppendRoundRobin(*store_, 50, 20));
  ASSERT_THAT(relay_->Flush(absl::Seconds(10)), IsOk());

  SteadyAppender appender(*store_);
  absl::SleepFor(absl::Milliseconds(300));
  cluster_.SetAllBrokers(/*up=*/false);
  const int appended_before_outage = appender.appended();
  // The outage itself: appends go on while nothing can be published.
  absl::SleepFor(absl::Seconds(2));
  EXPECT_THAT(relay_->Flush(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_GT(relay_->status().lag, 0u);
  EXPECT_GT(appender.appended(), appended_before_outage + 100)
      << "appends stalled while Kafka was down";
  cluster_.SetAllBrokers(/*up=*/true);
  absl::SleepFor(absl::Milliseconds(500));
  appender.Stop();
  EXPECT_EQ(appender.failures(), 0);

  ASSERT_THAT(relay_->Flush(absl::Seconds(15)), IsOk());
  const std::vector<eventstore::Envelope> log = WholeLog();
  const size_t duplicates = ExpectTopicHoldsLog(ReadBack(log.size()), log);
  RecordProperty("events", static_cast<int>(log.size()));
  RecordProperty("duplicates", static_cast<int>(duplicates));
  EXPECT_EQ(relay_->status().state, RelayStatus::State::kProducing);
}

TEST_F(OutboxRelayFaultTest, OnePartitionWhoseLeaderIsDownHoldsBackOnlyItself) {
  // Partition 0 led by broker 1, which is down; the others by broker 2.
  for (int partition = 0; partition < test_util::kPartitions; ++partition) {
    ASSERT_EQ(rd_kafka_mock_partition_set_leader(cluster_.cluster(),
                                                 test_util::kTopic, partition,
                                                 partition == 0 ? 1 : 2),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  rd_kafka_mock_broker_set_down(cluster_.cluster(), 1);
  ASSERT_NO_FATAL_FAILURE(AppendRoundRobin(*store_, 400, 40));
  RelayOptions options = test_util::TestRelayOptions(cluster_.bootstrap());
  options.max_in_flight = 20;
  ASSERT_OK_AND_ASSIGN(relay_, OutboxRelay::Start(*store_, options));

  // The events of the other partitions are delivered past the stuck ones:
  // only the unacknowledged count against max_in_flight, and the window
  // past the cursor stops at 8 x max_in_flight (160 events).
  const std::vector<test_util::ConsumedMessage> stuck = test_util::ReadTopic(
      cluster_.bootstrap(), test_util::kTopic, test_util::kPartitions,
      /*expected_unique=*/400, absl::Seconds(4));
  const uint64_t cursor = relay_->status().cursor;
  EXPECT_LT(cursor, 20u) << "an event of the stuck partition is early in the "
                            "log, so the cursor cannot pass it";
  EXPECT_GT(stuck.size(), 2 * options.max_in_flight)
      << "a partition whose leader is down held back all the others";
  EXPECT_LE(stuck.size(), cursor + 8 * options.max_in_flight);
  for (const test_util::ConsumedMessage& message : stuck) {
    EXPECT_NE(message.partition, 0);
  }

  rd_kafka_mock_broker_set_up(cluster_.cluster(), 1);
  ASSERT_THAT(relay_->Flush(absl::Seconds(15)), IsOk());
  const std::vector<eventstore::Envelope> log = WholeLog();
  const size_t duplicates = ExpectTopicHoldsLog(ReadBack(log.size()), log);
  RecordProperty("duplicates", static_cast<int>(duplicates));
}

TEST_F(OutboxRelayFaultTest, RetriableProduceErrorsLoseNothing) {
  ASSERT_NO_FATAL_FAILURE(StartRelay());
  ASSERT_NO_FATAL_FAILURE(AppendRoundRobin(*store_, 20, 5));
  ASSERT_THAT(relay_->Flush(absl::Seconds(10)), IsOk());

  for (int wave = 0; wave < 3; ++wave) {
    rd_kafka_mock_push_request_errors(
        cluster_.cluster(), kProduceApiKey, 6,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    ASSERT_NO_FATAL_FAILURE(AppendRoundRobin(*store_, 100, 13));
  }
  ASSERT_THAT(relay_->Flush(absl::Seconds(15)), IsOk());
  const std::vector<eventstore::Envelope> log = WholeLog();
  ASSERT_EQ(log.size(), 320u);
  const size_t duplicates = ExpectTopicHoldsLog(ReadBack(log.size()), log);
  RecordProperty("duplicates", static_cast<int>(duplicates));
}

TEST_F(OutboxRelayFaultTest,
       FatalProducerErrorRecreatesProducerAndLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartRelay());
  ASSERT_NO_FATAL_FAILURE(AppendRoundRobin(*store_, 20, 5));
  ASSERT_THAT(relay_->Flush(absl::Seconds(10)), IsOk());

  // OUT_OF_ORDER_SEQUENCE_NUMBER is fatal to librdkafka's idempotent
  // producer: the relay recreates it and produces again from its cursor.
  rd_kafka_mock_push_request_errors(
      cluster_.cluster(), kProduceApiKey, 2,
      RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
      RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
  ASSERT_NO_FATAL_FAILURE(AppendRoundRobin(*store_, 100, 13));
  ASSERT_THAT(relay_->Flush(absl::Seconds(15)), IsOk());
  const std::vector<eventstore::Envelope> log = WholeLog();
  ASSERT_EQ(log.size(), 120u);
  // The mock does not enforce producer sequence numbers, so a batch sent
  // after the failed one can be stored before the producer dies; the relay
  // then republishes from its cursor. Each stream is in order in that last,
  // complete run (README.md, "Delivery guarantees").
  const size_t duplicates = ExpectTopicHoldsLog(ReadBack(log.size()), log,
                                                test_util::OrderedCopy::kLast);
  RecordProperty("duplicates", static_cast<int>(duplicates));
  EXPECT_GE(relay_->status().producer_resets, 1u);
}

}  // namespace
}  // namespace crm::bus
