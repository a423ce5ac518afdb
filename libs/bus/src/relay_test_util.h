// Test helpers for the relay's tests: a store in a scratch directory, event
// appends, and checks of what reached the topic. Test-only.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "crm/bus/outbox_relay.h"
#include "crm/eventstore/event_store.h"
#include "crm/testing/status_matchers.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "kafka_test_util.h"
#include "store_test_util.h"

namespace crm::bus::test_util {

constexpr char kService[] = "contact";
constexpr char kTopic[] = "crm.contact.events.v1";
constexpr int kPartitions = 4;

// Appends one event to `stream`; the type names the stream's version.
inline absl::Status AppendOne(eventstore::EventStore& store,
                              const std::string& stream) {
  eventstore::Envelope event;
  event.set_type("crm.contact.v1.ContactRenamed");
  event.set_payload(fmt::format("payload of {}", stream));
  return store.Append(stream, eventstore::ExpectedVersion::Any(), {event})
      .status();
}

// Appends `count` events round-robin over `streams` streams.
inline void AppendRoundRobin(eventstore::EventStore& store, int count,
                             int streams) {
  for (int i = 0; i < count; ++i) {
    ASSERT_THAT(AppendOne(store, fmt::format("contact-{}", i % streams)),
                ::crm::testing::IsOk());
  }
}

inline RelayOptions TestRelayOptions(const std::string& bootstrap) {
  RelayOptions options;
  options.service = kService;
  options.kafka_config["bootstrap.servers"] = bootstrap;
  options.kafka_config["linger.ms"] = "1";
  options.shutdown_timeout = absl::Seconds(3);
  // e.g. CRM_BUS_TEST_KAFKA_DEBUG=eos,msg,broker to see librdkafka's logs.
  if (const char* debug = std::getenv("CRM_BUS_TEST_KAFKA_DEBUG")) {
    options.kafka_config["debug"] = debug;
  }
  return options;
}

// Which copy of an event published more than once the order check uses.
enum class OrderedCopy {
  kFirst,  // What a consumer that ignores repeated event_ids sees.
  kLast,   // The copies of the last run republished from the cursor.
};

// Checks that the topic holds every event of the log (at least once), with
// key and headers, and that each stream's events, taking the `ordered` copy
// of each event_id, come in stream-version order. Returns the number of
// duplicate copies.
inline size_t ExpectTopicHoldsLog(const std::vector<ConsumedMessage>& messages,
                                  const std::vector<eventstore::Envelope>& log,
                                  OrderedCopy ordered = OrderedCopy::kFirst) {
  absl::flat_hash_map<std::string, size_t> chosen;  // event_id -> index
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto [it, inserted] =
        chosen.emplace(messages[i].envelope.event_id(), i);
    if (!inserted && ordered == OrderedCopy::kLast) it->second = i;
  }
  absl::flat_hash_map<std::string, uint64_t> last_version;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ConsumedMessage& message = messages[i];
    const eventstore::Envelope& event = message.envelope;
    EXPECT_EQ(message.key, event.stream());
    EXPECT_EQ(message.event_id_header, event.event_id());
    EXPECT_EQ(message.type_header, event.type());
    if (chosen[event.event_id()] != i) continue;
    uint64_t& last = last_version[event.stream()];
    EXPECT_EQ(event.stream_version(), last + 1)
        << "stream " << event.stream() << " out of order at position "
        << event.global_position();
    last = event.stream_version();
  }
  EXPECT_EQ(chosen.size(), log.size()) << "events missing from the topic";
  for (const eventstore::Envelope& event : log) {
    EXPECT_TRUE(chosen.contains(event.event_id()))
        << "position " << event.global_position() << " never published";
  }
  return messages.size() - chosen.size();
}

// A fixture with a store in a scratch directory and a mock cluster.
class RelayTestBase : public ::testing::Test {
 protected:
  explicit RelayTestBase(int brokers)
      : dir_("bus"), cluster_(brokers, kTopic, kPartitions) {}

  void SetUp() override { ASSERT_NO_FATAL_FAILURE(OpenStore()); }
  void TearDown() override {
    relay_.reset();
    store_.reset();
  }

  void OpenStore() {
    eventstore::EventStore::Options options;
    options.path = (dir_.path() / "store").string();
    options.sync = false;
    ASSERT_OK_AND_ASSIGN(store_, eventstore::EventStore::Open(options));
  }

  void StartRelay() {
    ASSERT_OK_AND_ASSIGN(
        relay_,
        OutboxRelay::Start(*store_, TestRelayOptions(cluster_.bootstrap())));
  }

  std::vector<ConsumedMessage> ReadBack(size_t expected_unique) {
    return ReadTopic(cluster_.bootstrap(), kTopic, kPartitions, expected_unique,
                     absl::Seconds(10));
  }

  std::vector<eventstore::Envelope> WholeLog() {
    absl::StatusOr<std::vector<eventstore::Envelope>> log =
        eventstore::test_util::ReadWholeLog(*store_);
    EXPECT_THAT(log, ::crm::testing::IsOk());
    return log.ok() ? *std::move(log) : std::vector<eventstore::Envelope>{};
  }

  eventstore::test_util::ScratchDir dir_;
  MockCluster cluster_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<OutboxRelay> relay_;
};

}  // namespace crm::bus::test_util
