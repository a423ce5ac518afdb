// What only the Kafka bus does: the dead-letter topic, copies published
// again by the relay, broker faults while fetching, and a consumer group
// whose member leaves. On librdkafka's mock cluster.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <vector>

#include "consumer_test_util.h"
#include "crm/bus/outbox_relay.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"

namespace crm::bus {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using test_util::AppendRounds;
using test_util::ExpectedState;
using test_util::ExpectSameState;
using test_util::ReadHandlerState;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Fetch is API key 1 in the Kafka protocol.
constexpr int16_t kFetchApiKey = 1;

class KafkaConsumerTest : public test_util::BusTest {
 protected:
  KafkaConsumerTest() : BusTest(test_util::Transport::kKafka) {}

  // Forgets the relay's cursor, so the restarted publisher produces the
  // whole log again (as after a crash before it stored its cursor).
  void RepublishEverything() {
    publisher_.reset();
    ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * relay_family,
                         publisher_store_->ColumnFamily(kRelayColumnFamily));
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Delete(relay_family, test_util::kSourceTopic).ok());
    ASSERT_THAT(publisher_store_->Write(batch), IsOk());
    ASSERT_OK_AND_ASSIGN(
        publisher_,
        bus_->StartPublisher(*publisher_store_, test_util::kSourceService));
  }
};

TEST_F(KafkaConsumerTest, DeadLetterGoesToTheDlqTopicWithItsOrigin) {
  AppendRounds(*publisher_store_, 2, 2);
  const Envelope poison = Log()[0];
  handler_->Poison(poison.event_id());
  StartConsumer();
  Sync();

  const std::vector<test_util::ConsumedMessage> letters =
      test_util::ReadTopic(cluster_->bootstrap(), test_util::kDeadLetterTopic,
                           1, 1, absl::Seconds(15));
  ASSERT_THAT(letters, SizeIs(1));
  const test_util::ConsumedMessage& letter = letters[0];
  EXPECT_EQ(letter.key, poison.stream());
  EXPECT_EQ(letter.envelope.event_id(), poison.event_id());
  EXPECT_EQ(letter.headers.at("source_topic"), test_util::kSourceTopic);
  EXPECT_EQ(letter.headers.at("event_id"), poison.event_id());
  EXPECT_EQ(letter.headers.at("type"), poison.type());
  EXPECT_THAT(letter.headers.at("error"), HasSubstr("poisoned"));
  ASSERT_OK_AND_ASSIGN(std::vector<ParkedStream> parked,
                       consumer_->ListParked(10));
  ASSERT_THAT(parked, SizeIs(1));
  EXPECT_EQ(letter.headers.at("source_partition"),
            std::to_string(parked[0].origin.partition));
  EXPECT_EQ(letter.headers.at("source_offset"),
            std::to_string(parked[0].origin.offset));
  // Published once acknowledged: nothing waits any more.
  for (int i = 0; i < 200 && consumer_->status().dead_letters_unpublished > 0;
       ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(consumer_->status().dead_letters_unpublished, 0u);
}

TEST_F(KafkaConsumerTest, CopiesPublishedAgainAreSkipped) {
  AppendRounds(*publisher_store_, 10, 5);
  StartConsumer();
  Sync();
  RepublishEverything();
  AppendRounds(*publisher_store_, 10, 1);
  Sync();
  const ConsumerStatus status = consumer_->status();
  EXPECT_EQ(status.duplicates_skipped, 50u);
  EXPECT_EQ(status.handled, 60u);
  EXPECT_EQ(status.dead_lettered, 0u);
  ExpectSameState(ReadHandlerState(*consumer_store_, *family_),
                  ExpectedState(Log()));
}

TEST_F(KafkaConsumerTest, SurvivesInjectedFetchErrors) {
  AppendRounds(*publisher_store_, 12, 5);
  StartConsumer();
  ASSERT_THAT(publisher_->Flush(absl::Seconds(20)), IsOk());
  // Errors on the next fetches of every broker, while the consumer works.
  rd_kafka_mock_push_request_errors(cluster_->cluster(), kFetchApiKey, 6,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  AppendRounds(*publisher_store_, 12, 5);
  Sync();
  EXPECT_EQ(consumer_->status().dead_lettered, 0u);
  ExpectSameState(ReadHandlerState(*consumer_store_, *family_),
                  ExpectedState(Log()));
}

TEST_F(KafkaConsumerTest, SurvivesBrokersDownWhileConsuming) {
  AppendRounds(*publisher_store_, 8, 3);
  StartConsumer();
  Sync();
  cluster_->SetAllBrokers(false);
  AppendRounds(*publisher_store_, 8, 3);  // Appends go on; Kafka is away.
  absl::SleepFor(absl::Seconds(2));       // Kafka stays down a while.
  cluster_->SetAllBrokers(true);
  Sync();
  EXPECT_EQ(consumer_->status().dead_lettered, 0u);
  ExpectSameState(ReadHandlerState(*consumer_store_, *family_),
                  ExpectedState(Log()));
}

TEST_F(KafkaConsumerTest, WhenOneOfTwoMembersLeavesTheOtherTakesOver) {
  AppendRounds(*publisher_store_, 16, 3);
  StartConsumer();
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Consumer> second,
      bus_->StartConsumer(*consumer_store_, *handler_, Options()));
  // Both members hold partitions, and together they consumed everything.
  ASSERT_THAT(publisher_->Flush(absl::Seconds(20)), IsOk());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline &&
         (consumer_->status().partitions.empty() ||
          second->status().partitions.empty() ||
          consumer_->status().partitions.size() +
                  second->status().partitions.size() !=
              test_util::kSourcePartitions)) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_FALSE(consumer_->status().partitions.empty());
  ASSERT_FALSE(second->status().partitions.empty());
  ASSERT_THAT(consumer_->WaitUntilCaughtUp(absl::Seconds(30)), IsOk());
  ASSERT_THAT(second->WaitUntilCaughtUp(absl::Seconds(30)), IsOk());
  const uint64_t handled_by_first = consumer_->status().handled;
  EXPECT_GT(handled_by_first, 0u);
  EXPECT_GT(second->status().handled, 0u);

  second.reset();  // Leaves the group.
  AppendRounds(*publisher_store_, 16, 3);
  ASSERT_THAT(publisher_->Flush(absl::Seconds(20)), IsOk());
  // The remaining member gets every partition, from the stored offsets.
  const absl::Time rebalanced = absl::Now() + absl::Seconds(30);
  while (absl::Now() < rebalanced &&
         consumer_->status().partitions.size() !=
             static_cast<size_t>(test_util::kSourcePartitions)) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_THAT(consumer_->status().partitions,
              SizeIs(test_util::kSourcePartitions));
  ASSERT_THAT(consumer_->WaitUntilCaughtUp(absl::Seconds(30)), IsOk());
  EXPECT_EQ(consumer_->status().dead_lettered, 0u);
  EXPECT_EQ(consumer_->status().handled, handled_by_first + 48u);
  ExpectSameState(ReadHandlerState(*consumer_store_, *family_),
                  ExpectedState(Log()));
}

TEST_F(KafkaConsumerTest, RefusesSettingsItOwns) {
  std::map<std::string, std::string> config =
      test_util::TestKafkaConfig(cluster_->bootstrap());
  config["enable.auto.commit"] = "true";
  std::unique_ptr<Bus> bus = NewKafkaBus(config);
  EXPECT_THAT(bus->StartConsumer(*consumer_store_, *handler_, Options()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("enable.auto.commit")));
  std::unique_ptr<Bus> no_bootstrap = NewKafkaBus({});
  EXPECT_THAT(
      no_bootstrap->StartConsumer(*consumer_store_, *handler_, Options()),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("bootstrap.servers")));
}

}  // namespace
}  // namespace crm::bus
