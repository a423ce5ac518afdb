// The consumer's behaviour, one suite run against both buses (embedded and
// Kafka on librdkafka's mock cluster).
#include "crm/bus/consumer.h"

#include <memory>
#include <string>
#include <vector>

#include "consumer_test_util.h"
#include "crm/bus/bus.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::bus {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using test_util::AppendRounds;
using test_util::ExpectedState;
using test_util::ExpectSameState;
using test_util::ReadHandlerState;
using ::testing::HasSubstr;
using ::testing::SizeIs;

using test_util::Transport;

class ConsumerTest : public test_util::BusTest,
                     public ::testing::WithParamInterface<Transport> {
 protected:
  ConsumerTest() : BusTest(GetParam()) {}
};

TEST_P(ConsumerTest, AppliesEveryEventOnceInStreamOrder) {
  AppendRounds(*publisher_store_, /*streams=*/20, /*rounds=*/10);
  StartConsumer();
  Sync();
  AppendRounds(*publisher_store_, /*streams=*/25, /*rounds=*/4);  // Live.
  Sync();
  ExpectSameState(ReadHandlerState(*consumer_store_, *family_),
                  ExpectedState(Log()));
  const ConsumerStatus status = consumer_->status();
  EXPECT_EQ(status.handled, 300u);
  EXPECT_EQ(status.dead_lettered, 0u);
  EXPECT_EQ(status.lag, 0u);
  EXPECT_EQ(status.state, ConsumerStatus::State::kConsuming);
}

TEST_P(ConsumerTest, RestartResumesFromTheStoredOffsets) {
  AppendRounds(*publisher_store_, 10, 5);
  StartConsumer();
  Sync();
  consumer_.reset();
  AppendRounds(*publisher_store_, 10, 5);
  StartConsumer();
  Sync();
  // The handler refuses a repeated event: a re-read of the first half would
  // have dead-lettered it.
  EXPECT_EQ(consumer_->status().handled, 50u);
  EXPECT_EQ(consumer_->status().dead_lettered, 0u);
  ExpectSameState(ReadHandlerState(*consumer_store_, *family_),
                  ExpectedState(Log()));
}

TEST_P(ConsumerTest, FailedAttemptIsRolledBackAndRetried) {
  handler_->FailFirstAttempts(3);
  AppendRounds(*publisher_store_, 3, 2);
  StartConsumer();
  Sync();
  EXPECT_EQ(consumer_->status().dead_lettered, 0u);
  ExpectSameState(ReadHandlerState(*consumer_store_, *family_),
                  ExpectedState(Log()));
}

TEST_P(ConsumerTest, PoisonEventParksItsStreamAndRedriveAppliesInOrder) {
  AppendRounds(*publisher_store_, 4, 2);
  std::vector<Envelope> log = Log();
  // quote-1's first event fails every attempt.
  const Envelope poison = log[1];
  ASSERT_EQ(poison.stream(), "quote-1");
  handler_->Poison(poison.event_id());
  StartConsumer();
  AppendRounds(*publisher_store_, 4, 2);  // More of every stream, live.
  Sync();

  // Its stream waits behind it; the other streams flowed on.
  EXPECT_EQ(handler_->attempts(poison.event_id()), 3);
  ExpectSameState(ReadHandlerState(*consumer_store_, *family_),
                  ExpectedState(Log(), {"quote-1"}));
  ConsumerStatus status = consumer_->status();
  EXPECT_EQ(status.dead_lettered, 1u);
  EXPECT_EQ(status.parked_streams, 1u);
  ASSERT_OK_AND_ASSIGN(std::vector<ParkedStream> parked,
                       consumer_->ListParked(10));
  ASSERT_THAT(parked, SizeIs(1));
  EXPECT_EQ(parked[0].topic, test_util::kSourceTopic);
  EXPECT_EQ(parked[0].stream, "quote-1");
  EXPECT_EQ(parked[0].event_id, poison.event_id());
  EXPECT_EQ(parked[0].type, poison.type());
  EXPECT_THAT(parked[0].error, HasSubstr("poisoned"));
  EXPECT_EQ(parked[0].parked_events, 4u);

  // A re-drive before the fix fails and keeps everything parked.
  EXPECT_THAT(
      consumer_->Redrive(test_util::kSourceTopic, "quote-1", absl::Seconds(20)),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("poisoned")));
  ASSERT_OK_AND_ASSIGN(parked, consumer_->ListParked(10));
  ASSERT_THAT(parked, SizeIs(1));
  EXPECT_EQ(parked[0].parked_events, 4u);
  EXPECT_EQ(parked[0].redrive_attempts, 1u);

  // After the fix: all four, in order, once; later events flow again.
  handler_->Cure();
  EXPECT_THAT(
      consumer_->Redrive(test_util::kSourceTopic, "quote-1", absl::Seconds(20)),
      IsOkAndHolds(4u));
  EXPECT_THAT(consumer_->ListParked(10), IsOkAndHolds(SizeIs(0)));
  AppendRounds(*publisher_store_, 4, 1);
  Sync();
  ExpectSameState(ReadHandlerState(*consumer_store_, *family_),
                  ExpectedState(Log()));
  status = consumer_->status();
  EXPECT_EQ(status.parked_streams, 0u);
  EXPECT_EQ(status.dead_lettered, 1u);

  EXPECT_THAT(
      consumer_->Redrive(test_util::kSourceTopic, "quote-1", absl::Seconds(5)),
      StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(ConsumerTest, ParkingSurvivesARestart) {
  AppendRounds(*publisher_store_, 2, 1);
  const Envelope poison = Log()[0];
  handler_->Poison(poison.event_id());
  StartConsumer();
  Sync();
  consumer_.reset();
  AppendRounds(*publisher_store_, 2, 2);
  StartConsumer();
  Sync();
  EXPECT_EQ(consumer_->status().parked_streams, 1u);
  ExpectSameState(ReadHandlerState(*consumer_store_, *family_),
                  ExpectedState(Log(), {poison.stream()}));
  handler_->Cure();
  EXPECT_THAT(consumer_->Redrive(test_util::kSourceTopic, poison.stream(),
                                 absl::Seconds(20)),
              IsOkAndHolds(3u));
  ExpectSameState(ReadHandlerState(*consumer_store_, *family_),
                  ExpectedState(Log()));
}

TEST_P(ConsumerTest, RejectsBadOptions) {
  ConsumerOptions options = Options();
  options.purpose = "Bad Purpose";
  EXPECT_THAT(
      bus_->StartConsumer(*consumer_store_, *handler_, options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("purpose")));
  options = Options();
  options.sources = {};
  EXPECT_THAT(
      bus_->StartConsumer(*consumer_store_, *handler_, options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sources")));
  options = Options();
  options.sources = {"sales", "sales"};
  EXPECT_THAT(bus_->StartConsumer(*consumer_store_, *handler_, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
  options = Options();
  options.max_attempts = 0;
  EXPECT_THAT(
      bus_->StartConsumer(*consumer_store_, *handler_, options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_attempts")));
  options = Options();
  options.service = "";
  EXPECT_THAT(
      bus_->StartConsumer(*consumer_store_, *handler_, options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("service")));
}

TEST_P(ConsumerTest, ListParkedRefusesZeroAndPagesInOrder) {
  for (const char* stream : {"quote-0", "quote-1", "quote-2"}) {
    handler_->Poison(stream);
  }
  StartConsumer();
  EXPECT_THAT(consumer_->ListParked(0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  AppendRounds(*publisher_store_, 3, 1);
  Sync();
  ASSERT_OK_AND_ASSIGN(std::vector<ParkedStream> first,
                       consumer_->ListParked(2));
  ASSERT_THAT(first, SizeIs(2));
  EXPECT_EQ(first[0].stream, "quote-0");
  EXPECT_EQ(first[1].stream, "quote-1");
  ASSERT_OK_AND_ASSIGN(
      std::vector<ParkedStream> rest,
      consumer_->ListParked(2, first[1].topic, first[1].stream));
  ASSERT_THAT(rest, SizeIs(1));
  EXPECT_EQ(rest[0].stream, "quote-2");
}

INSTANTIATE_TEST_SUITE_P(Buses, ConsumerTest,
                         ::testing::Values(Transport::kEmbedded,
                                           Transport::kKafka),
                         [](const ::testing::TestParamInfo<Transport>& param) {
                           return param.param == Transport::kKafka ? "Kafka"
                                                                   : "Embedded";
                         });

}  // namespace
}  // namespace crm::bus
