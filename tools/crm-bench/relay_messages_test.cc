#include "relay_messages.h"

#include <memory>
#include <string>

#include "crm/eventstore/event_store.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scratch_dir.h"

namespace crm::bench {
namespace {

using eventstore::Envelope;
using eventstore::EventStore;
using eventstore::ExpectedVersion;

Envelope Event(const std::string& stream, const std::string& type,
               const std::string& payload) {
  Envelope event;
  event.set_stream(stream);
  event.set_event_id(stream + "-id");
  event.set_type(type);
  event.set_payload(payload);
  return event;
}

class RelayMessagesTest : public ::testing::Test {};

TEST_F(RelayMessagesTest, EachMessageHasTheRelaysKeyValueAndHeaders) {
  RelayMessages messages;
  const Envelope first = Event("contact-1", "crm.contact.v1.Created", "abc");
  const Envelope second = Event("c2", "T", std::string(1000, 'x'));
  messages.Add(first);
  messages.Add(second);
  ASSERT_EQ(messages.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const Envelope& event = i == 0 ? first : second;
    const RelayMessages::Message message = messages[i];
    EXPECT_EQ(message.key, event.stream());
    EXPECT_EQ(message.value, event.SerializeAsString());
    EXPECT_EQ(message.event_id, event.event_id());
    EXPECT_EQ(message.type, event.type());
  }
}

TEST_F(RelayMessagesTest, EmptyPartsStayEmpty) {
  RelayMessages messages;
  messages.Add(Envelope());
  messages.Add(Event("s", "t", "p"));
  EXPECT_EQ(messages[0].key, "");
  EXPECT_EQ(messages[0].value, "");
  EXPECT_EQ(messages[0].event_id, "");
  EXPECT_EQ(messages[1].key, "s");
  EXPECT_EQ(messages[1].type, "t");
}

TEST_F(RelayMessagesTest, ReadsEveryEventOfTheLogInOrder) {
  ASSERT_OK_AND_ASSIGN(ScratchDir scratch, ScratchDir::Create(""));
  EventStore::Options options;
  options.path = scratch.Sub("store");
  options.sync = false;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventStore> store,
                       EventStore::Open(std::move(options)));
  for (int i = 0; i < 25; ++i) {
    Envelope event;
    event.set_type("bench.Event");
    event.set_payload(std::to_string(i));
    ASSERT_OK(store
                  ->Append("stream-" + std::to_string(i % 3),
                           ExpectedVersion::Any(), {event})
                  .status());
  }
  // Pages of 4 do not divide 25: the last page is short.
  ASSERT_OK_AND_ASSIGN(const RelayMessages messages,
                       ReadRelayMessages(*store, 4));
  ASSERT_EQ(messages.size(), 25u);
  for (size_t i = 0; i < messages.size(); ++i) {
    Envelope event;
    ASSERT_TRUE(event.ParseFromArray(
        messages[i].value.data(), static_cast<int>(messages[i].value.size())));
    EXPECT_EQ(event.global_position(), i + 1);
    EXPECT_EQ(event.payload(), std::to_string(i));
    EXPECT_EQ(messages[i].key, "stream-" + std::to_string(i % 3));
    EXPECT_EQ(messages[i].event_id, event.event_id());
    EXPECT_EQ(messages[i].type, "bench.Event");
  }
}

}  // namespace
}  // namespace crm::bench
