// Faults injected through the dev broker's control port, seen by Kafka
// clients in this (another) process.
#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/dev_broker/dev_broker_control.h"
#include "crm/dev_broker/dev_broker_process.h"
#include "crm/testing/status_matchers.h"
#include "dev_broker_test_util.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace crm::dev_broker {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::IsOkAndHolds;
using test_util::TestProducer;

constexpr char kTopic[] = "crm.sales.events.v1";

// A bare acks=all producer (no idempotence) whose messages never time out
// and that reconnects quickly once a broker is back.
std::map<std::string, std::string> PatientProducer() {
  return {{"message.timeout.ms", "0"},
          {"reconnect.backoff.ms", "50"},
          {"reconnect.backoff.max.ms", "500"}};
}

class DevBrokerFaultTest : public ::testing::Test {
 protected:
  void Start(int brokers) {
    ASSERT_OK_AND_ASSIGN(
        broker_, DevBrokerProcess::Start(
                     test_util::BrokerOptions(brokers, /*control=*/true)));
    ASSERT_OK_AND_ASSIGN(control_,
                         DevBrokerControl::Connect(broker_->control_address()));
  }
  void TearDown() override {
    if (broker_ != nullptr) {
      EXPECT_THAT(broker_->Stop(absl::Seconds(10)), IsOkAndHolds(0));
    }
  }

  // Metadata of `topic` as the cluster reports it now; nullptr on failure.
  // The caller frees it with rd_kafka_metadata_destroy.
  static const rd_kafka_metadata_t* TopicMetadata(rd_kafka_t* client,
                                                  const std::string& topic) {
    rd_kafka_topic_t* handle =
        rd_kafka_topic_new(client, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    const rd_kafka_resp_err_t err =
        rd_kafka_metadata(client, 0, handle, &metadata, 5000);
    rd_kafka_topic_destroy(handle);
    EXPECT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return nullptr;
    EXPECT_EQ(metadata->topic_cnt, 1);
    return metadata;
  }

  std::unique_ptr<DevBrokerProcess> broker_;
  std::unique_ptr<DevBrokerControl> control_;
};

// Sum of the per-broker Produce request counts in a statistics JSON.
int64_t ProduceRequests(const std::string& stats) {
  if (stats.empty()) return 0;
  const nlohmann::json json = nlohmann::json::parse(stats, nullptr, false);
  int64_t total = 0;
  if (!json.contains("brokers")) return 0;
  for (const auto& [name, broker] : json["brokers"].items()) {
    if (broker.contains("req") && broker["req"].contains("Produce")) {
      total += broker["req"]["Produce"].get<int64_t>();
    }
  }
  return total;
}

TEST_F(DevBrokerFaultTest, AllBrokersDownStallsDeliveryUntilUp) {
  ASSERT_NO_FATAL_FAILURE(Start(3));
  TestProducer producer(broker_->bootstrap(), PatientProducer());
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE(producer.Produce(kTopic, 0, "before"));
  ASSERT_EQ(producer.Flush(absl::Seconds(10)), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(producer.delivered(), 1);

  EXPECT_THAT(control_->Send("all-brokers-down"),
              IsOkAndHolds("3 brokers down"));
  ASSERT_TRUE(producer.Produce(kTopic, 0, "during"));
  EXPECT_EQ(producer.Flush(absl::Seconds(2)), RD_KAFKA_RESP_ERR__TIMED_OUT);
  EXPECT_EQ(producer.delivered(), 1) << "delivered while every broker was down";
  EXPECT_EQ(producer.failed(), 0);

  EXPECT_THAT(control_->Send("all-brokers-up"), IsOkAndHolds("3 brokers up"));
  EXPECT_EQ(producer.Flush(absl::Seconds(20)), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(producer.delivered(), 2);
  EXPECT_EQ(producer.failed(), 0);
  EXPECT_THAT(test_util::ReadValues(broker_->bootstrap(), kTopic, 2, 2,
                                    absl::Seconds(10)),
              ::testing::ElementsAre("before", "during"));
}

TEST_F(DevBrokerFaultTest, OneBrokerDownStallsOnlyItsPartitions) {
  ASSERT_NO_FATAL_FAILURE(Start(2));
  ASSERT_THAT(control_->Send("partition-leader crm.sales.events.v1 0 1"),
              IsOk());
  ASSERT_THAT(control_->Send("partition-leader crm.sales.events.v1 1 2"),
              IsOk());
  TestProducer producer(broker_->bootstrap(), PatientProducer());
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE(producer.Produce(kTopic, 0, "warm-0"));
  ASSERT_TRUE(producer.Produce(kTopic, 1, "warm-1"));
  ASSERT_EQ(producer.Flush(absl::Seconds(10)), RD_KAFKA_RESP_ERR_NO_ERROR);

  EXPECT_THAT(control_->Send("broker-down 2"), IsOkAndHolds("broker 2 down"));
  ASSERT_TRUE(producer.Produce(kTopic, 0, "to-broker-1"));
  ASSERT_TRUE(producer.Produce(kTopic, 1, "to-broker-2"));
  // Partition 0's message goes through; partition 1's waits for broker 2.
  EXPECT_EQ(producer.Flush(absl::Seconds(3)), RD_KAFKA_RESP_ERR__TIMED_OUT);
  EXPECT_EQ(producer.delivered(), 3);
  EXPECT_THAT(control_->Send("broker-up 2"), IsOkAndHolds("broker 2 up"));
  EXPECT_EQ(producer.Flush(absl::Seconds(20)), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(producer.delivered(), 4);
  EXPECT_EQ(producer.failed(), 0);
}

TEST_F(DevBrokerFaultTest, IdempotentProducerSurvivesInjectedProduceErrors) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  constexpr int kMessages = 10;
  // By name and by number: Produce is API key 0, REQUEST_TIMED_OUT code 7.
  EXPECT_THAT(
      control_->Send("request-errors Produce NOT_LEADER_FOR_PARTITION 3"),
      IsOkAndHolds("3 x NOT_LEADER_FOR_PARTITION pushed for api key 0"));
  EXPECT_THAT(control_->Send("request-errors 0 7 2"),
              IsOkAndHolds("2 x REQUEST_TIMED_OUT pushed for api key 0"));
  constexpr int kInjected = 5;

  TestProducer producer(broker_->bootstrap(),
                        {{"enable.idempotence", "true"},
                         {"max.in.flight.requests.per.connection", "1"},
                         {"retry.backoff.ms", "20"},
                         {"statistics.interval.ms", "100"}});
  ASSERT_TRUE(producer.ok());
  // One message per request, so that without the injected errors there
  // would be exactly kMessages Produce requests.
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(producer.Produce(kTopic, 0, fmt::format("m{}", i)));
    ASSERT_EQ(producer.Flush(absl::Seconds(15)), RD_KAFKA_RESP_ERR_NO_ERROR)
        << "message " << i;
  }
  EXPECT_EQ(producer.delivered(), kMessages);
  EXPECT_EQ(producer.failed(), 0) << rd_kafka_err2name(producer.last_error());

  // The failed requests were sent and retried: the statistics count them.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (ProduceRequests(producer.stats()) < kMessages + kInjected &&
         absl::Now() < deadline) {
    producer.Poll(absl::Milliseconds(100));
  }
  EXPECT_GE(ProduceRequests(producer.stats()), kMessages + kInjected);

  // Nothing lost, in order (the first copy of each value).
  const std::vector<std::string> values = test_util::ReadValues(
      broker_->bootstrap(), kTopic, 1, kMessages, absl::Seconds(10));
  std::vector<std::string> first_copies;
  std::set<std::string> seen;
  for (const std::string& value : values) {
    if (seen.insert(value).second) first_copies.push_back(value);
  }
  std::vector<std::string> expected;
  expected.reserve(kMessages);
  for (int i = 0; i < kMessages; ++i) expected.push_back(fmt::format("m{}", i));
  EXPECT_EQ(first_copies, expected);
}

TEST_F(DevBrokerFaultTest, NonRetriableProduceErrorFailsDelivery) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  ASSERT_THAT(
      control_->Send("request-errors produce TOPIC_AUTHORIZATION_FAILED"),
      IsOk());
  TestProducer producer(broker_->bootstrap(), {});
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE(producer.Produce(kTopic, 0, "refused"));
  ASSERT_EQ(producer.Flush(absl::Seconds(10)), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(producer.failed(), 1);
  EXPECT_EQ(producer.last_error(),
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
}

TEST_F(DevBrokerFaultTest, TopicCommandsShowInMetadata) {
  ASSERT_NO_FATAL_FAILURE(Start(3));
  TestProducer client(broker_->bootstrap(), {});
  ASSERT_TRUE(client.ok());

  EXPECT_THAT(control_->Send("create-topic test.orders 3"),
              IsOkAndHolds("test.orders created with 3 partitions"));
  const rd_kafka_metadata_t* metadata =
      TopicMetadata(client.handle(), "test.orders");
  ASSERT_NE(metadata, nullptr);
  ASSERT_EQ(metadata->topics[0].partition_cnt, 3);
  // Moves partition 1's leader away from where the mock put it.
  const int32_t new_leader = metadata->topics[0].partitions[1].leader % 3 + 1;
  rd_kafka_metadata_destroy(metadata);
  EXPECT_THAT(
      control_->Send(
          fmt::format("partition-leader test.orders 1 {}", new_leader)),
      IsOkAndHolds(fmt::format("test.orders [1] leader {}", new_leader)));
  metadata = TopicMetadata(client.handle(), "test.orders");
  ASSERT_NE(metadata, nullptr);
  ASSERT_EQ(metadata->topics[0].partition_cnt, 3);
  EXPECT_EQ(metadata->topics[0].partitions[1].leader, new_leader);
  rd_kafka_metadata_destroy(metadata);

  EXPECT_THAT(control_->Send("topic-error test.orders "
                             "RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED"),
              IsOk());
  metadata = TopicMetadata(client.handle(), "test.orders");
  ASSERT_NE(metadata, nullptr);
  EXPECT_EQ(metadata->topics[0].err,
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  rd_kafka_metadata_destroy(metadata);
  EXPECT_THAT(control_->Send("topic-error test.orders NO_ERROR"), IsOk());
  metadata = TopicMetadata(client.handle(), "test.orders");
  ASSERT_NE(metadata, nullptr);
  EXPECT_EQ(metadata->topics[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_metadata_destroy(metadata);

  EXPECT_THAT(control_->Send("broker-rtt 2 50"),
              IsOkAndHolds("broker 2 rtt 50 ms"));
  EXPECT_THAT(control_->Send("broker-rtt 2 0"), IsOk());
}

}  // namespace
}  // namespace crm::dev_broker
