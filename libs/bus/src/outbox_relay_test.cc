// The relay against librdkafka's mock cluster: what reaches the topic, the
// cursor across restarts, Flush and status, bad options.
#include "crm/bus/outbox_relay.h"

#include <cstdint>
#include <string>

#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "relay_cursor.h"
#include "relay_test_util.h"
#include "rocksdb/write_batch.h"

namespace crm::bus {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using test_util::AppendRoundRobin;
using test_util::ExpectTopicHoldsLog;
using test_util::kTopic;
using ::testing::HasSubstr;

class OutboxRelayTest : public test_util::RelayTestBase {
 protected:
  OutboxRelayTest() : RelayTestBase(/*brokers=*/1) {}
};

TEST_F(OutboxRelayTest, PublishesEveryEventOnceInStreamOrderWithHeaders) {
  ASSERT_NO_FATAL_FAILURE(AppendRoundRobin(*store_, 150, 7));
  ASSERT_NO_FATAL_FAILURE(StartRelay());
  ASSERT_NO_FATAL_FAILURE(AppendRoundRobin(*store_, 150, 7));
  ASSERT_THAT(relay_->Flush(absl::Seconds(10)), IsOk());

  const RelayStatus status = relay_->status();
  EXPECT_EQ(status.cursor, 300u);
  EXPECT_EQ(status.last_position, 300u);
  EXPECT_EQ(status.lag, 0u);
  EXPECT_TRUE(status.connected);
  EXPECT_EQ(status.state, RelayStatus::State::kProducing);
  EXPECT_EQ(relay_->topic(), kTopic);

  const std::vector<test_util::ConsumedMessage> messages = ReadBack(300);
  EXPECT_EQ(ExpectTopicHoldsLog(messages, WholeLog()), 0u);
  EXPECT_EQ(messages.size(), 300u);
}

TEST_F(OutboxRelayTest, CursorSurvivesRestartWithoutRepublishing) {
  ASSERT_NO_FATAL_FAILURE(AppendRoundRobin(*store_, 100, 5));
  ASSERT_NO_FATAL_FAILURE(StartRelay());
  ASSERT_THAT(relay_->Flush(absl::Seconds(10)), IsOk());
  relay_.reset();

  ASSERT_OK_AND_ASSIGN(RelayCursor cursor, RelayCursor::Open(*store_, kTopic));
  EXPECT_THAT(cursor.Load(), ::crm::testing::IsOkAndHolds(100u));

  // Also across reopening the store.
  store_.reset();
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  ASSERT_NO_FATAL_FAILURE(AppendRoundRobin(*store_, 40, 5));
  ASSERT_NO_FATAL_FAILURE(StartRelay());
  EXPECT_GE(relay_->status().cursor, 100u);
  ASSERT_THAT(relay_->Flush(absl::Seconds(10)), IsOk());
  EXPECT_EQ(relay_->status().cursor, 140u);

  const std::vector<test_util::ConsumedMessage> messages = ReadBack(140);
  // A clean stop stores the cursor of every acknowledged event: no copies.
  EXPECT_EQ(ExpectTopicHoldsLog(messages, WholeLog()), 0u);
  EXPECT_EQ(messages.size(), 140u);
}

TEST_F(OutboxRelayTest, SmallInFlightLimitStillPublishesEverything) {
  ASSERT_NO_FATAL_FAILURE(AppendRoundRobin(*store_, 200, 9));
  RelayOptions options = test_util::TestRelayOptions(cluster_.bootstrap());
  options.max_in_flight = 3;
  options.read_batch_events = 7;
  ASSERT_OK_AND_ASSIGN(relay_, OutboxRelay::Start(*store_, options));
  ASSERT_THAT(relay_->Flush(absl::Seconds(15)), IsOk());
  const std::vector<test_util::ConsumedMessage> messages = ReadBack(200);
  EXPECT_EQ(ExpectTopicHoldsLog(messages, WholeLog()), 0u);
}

TEST_F(OutboxRelayTest, FlushOnEmptyLogReturnsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(StartRelay());
  EXPECT_THAT(relay_->Flush(absl::Milliseconds(10)), IsOk());
  EXPECT_EQ(relay_->status().lag, 0u);
}

TEST_F(OutboxRelayTest, StartRejectsBadOptions) {
  RelayOptions options = test_util::TestRelayOptions(cluster_.bootstrap());
  options.service = "Contact Service";
  EXPECT_THAT(OutboxRelay::Start(*store_, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Contact Service")));

  options = test_util::TestRelayOptions(cluster_.bootstrap());
  options.kafka_config.erase("bootstrap.servers");
  EXPECT_THAT(OutboxRelay::Start(*store_, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bootstrap.servers")));

  options = test_util::TestRelayOptions(cluster_.bootstrap());
  options.kafka_config["acks"] = "1";
  EXPECT_THAT(OutboxRelay::Start(*store_, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("acks")));

  options = test_util::TestRelayOptions(cluster_.bootstrap());
  options.kafka_config["no.such.property"] = "1";
  EXPECT_THAT(OutboxRelay::Start(*store_, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no.such.property")));

  options = test_util::TestRelayOptions(cluster_.bootstrap());
  options.max_in_flight = 0;
  EXPECT_THAT(OutboxRelay::Start(*store_, options),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(OutboxRelayTest, CorruptCursorIsDataLoss) {
  ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * cf,
                       store_->CreateColumnFamily(kRelayColumnFamily));
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(cf, kTopic, "xyz").ok());
  ASSERT_THAT(store_->Write(batch), IsOk());
  EXPECT_THAT(OutboxRelay::Start(
                  *store_, test_util::TestRelayOptions(cluster_.bootstrap())),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("8")));
}

}  // namespace
}  // namespace crm::bus
