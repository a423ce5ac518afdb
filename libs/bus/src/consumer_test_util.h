// Test helpers for consumers: a handler that folds events into per-stream
// versions (and refuses any out-of-order or repeated event), and a fixture
// with a publishing store, a consuming store and either bus. Test-only.
#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "crm/base/status_macros.h"
#include "crm/bus/bus.h"
#include "crm/bus/consumer.h"
#include "crm/eventstore/event_store.h"
#include "crm/testing/status_matchers.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "kafka_test_util.h"
#include "rocksdb/db.h"
#include "store_test_util.h"
#include "version_handler.h"

namespace crm::bus::test_util {

constexpr char kSourceService[] = "sales";
constexpr char kSourceTopic[] = "crm.sales.events.v1";
constexpr char kConsumerService[] = "contact";
constexpr char kDeadLetterTopic[] = "crm.contact.dlq.v1";
constexpr int kSourcePartitions = 4;

// Reads the handler's column family: stream -> last version, and the total.
struct HandlerState {
  std::map<std::string, uint64_t> versions;
  uint64_t total = 0;
  bool garbage = false;  // Writes of failed attempts leaked.
};

inline HandlerState ReadHandlerState(eventstore::EventStore& store,
                                     rocksdb::ColumnFamilyHandle& family) {
  HandlerState state;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db().NewIterator(rocksdb::ReadOptions(), &family));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string key = it->key().ToString();
    const std::string value = it->value().ToString();
    uint64_t number = 0;
    if (key.starts_with("garbage/")) {
      state.garbage = true;
    } else if (key.starts_with("total/")) {
      EXPECT_TRUE(absl::SimpleAtoi(value, &number));
      state.total += number;
    } else if (key.starts_with("v/")) {
      EXPECT_TRUE(absl::SimpleAtoi(value, &number));
      state.versions[key.substr(2)] = number;
    }
  }
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return state;
}

// The state the handler must reach from `log` when every event is applied
// exactly once (`except_streams` excluded).
inline HandlerState ExpectedState(
    const std::vector<Envelope>& log,
    const std::set<std::string>& except_streams = {}) {
  HandlerState state;
  for (const Envelope& event : log) {
    if (except_streams.contains(event.stream())) continue;
    state.versions[event.stream()] = event.stream_version();
    ++state.total;
  }
  return state;
}

inline void ExpectSameState(const HandlerState& actual,
                            const HandlerState& expected) {
  EXPECT_EQ(actual.versions, expected.versions);
  EXPECT_EQ(actual.total, expected.total);
  EXPECT_FALSE(actual.garbage) << "a failed attempt's writes were committed";
}

// Appends one event to each of `streams`, `rounds` times (so each stream
// gets `rounds` versions), in round-robin order.
inline void AppendRounds(eventstore::EventStore& store, int streams, int rounds,
                         int first_stream = 0) {
  for (int round = 0; round < rounds; ++round) {
    for (int s = first_stream; s < first_stream + streams; ++s) {
      Envelope event;
      event.set_type("crm.sales.v1.QuoteSent");
      event.set_payload(fmt::format("quote {} of account {}", round, s));
      ASSERT_THAT(store.Append(fmt::format("quote-{}", s),
                               eventstore::ExpectedVersion::Any(), {event}),
                  ::crm::testing::IsOk());
    }
  }
}

inline std::map<std::string, std::string> TestKafkaConfig(
    const std::string& bootstrap) {
  std::map<std::string, std::string> config = {
      {"bootstrap.servers", bootstrap},
      {"linger.ms", "1"},
      // A restarted member gets its partitions in seconds, not after the
      // default 45 s (TOOLING.md).
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "500"},
      {"log_level", "3"},
  };
  if (const char* debug = std::getenv("CRM_BUS_TEST_KAFKA_DEBUG")) {
    config["debug"] = debug;
  }
  return config;
}

inline std::unique_ptr<eventstore::EventStore> OpenTestStore(
    const std::filesystem::path& path) {
  eventstore::EventStore::Options options;
  options.path = path.string();
  options.sync = false;
  absl::StatusOr<std::unique_ptr<eventstore::EventStore>> store =
      eventstore::EventStore::Open(options);
  EXPECT_THAT(store, ::crm::testing::IsOk());
  return store.ok() ? *std::move(store) : nullptr;
}

enum class Transport { kEmbedded, kKafka };

// A publishing store ("sales") and a consuming store ("contact") with the
// handler's column family, on either bus.
class BusTest : public ::testing::Test {
 protected:
  explicit BusTest(Transport transport)
      : transport_(transport), dir_("consumer") {}

  void SetUp() override {
    publisher_store_ = OpenTestStore(dir_.path() / "sales");
    consumer_store_ = OpenTestStore(dir_.path() / "contact");
    ASSERT_NE(publisher_store_, nullptr);
    ASSERT_NE(consumer_store_, nullptr);
    ASSERT_OK_AND_ASSIGN(family_,
                         consumer_store_->CreateColumnFamily("contact_quotes"));
    handler_ = std::make_unique<VersionHandler>(*family_);
    if (transport_ == Transport::kKafka) {
      cluster_ =
          std::make_unique<MockCluster>(3, kSourceTopic, kSourcePartitions);
      ASSERT_EQ(rd_kafka_mock_topic_create(cluster_->cluster(),
                                           kDeadLetterTopic, 1, 3),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      bus_ = NewKafkaBus(TestKafkaConfig(cluster_->bootstrap()));
    } else {
      bus_ = NewEmbeddedBus();
    }
    ASSERT_OK_AND_ASSIGN(
        publisher_, bus_->StartPublisher(*publisher_store_, kSourceService));
  }

  void TearDown() override {
    consumer_.reset();
    publisher_.reset();
    bus_.reset();
    cluster_.reset();
  }

  ConsumerOptions Options() const {
    ConsumerOptions options;
    options.service = kConsumerService;
    options.purpose = "quotes";
    options.sources = {kSourceService};
    options.retry_backoff = absl::Milliseconds(5);
    return options;
  }

  void StartConsumer() {
    ASSERT_OK_AND_ASSIGN(
        consumer_, bus_->StartConsumer(*consumer_store_, *handler_, Options()));
  }

  // Publishes everything appended so far and waits until the consumer has
  // consumed it.
  void Sync() {
    ASSERT_THAT(publisher_->Flush(absl::Seconds(20)), ::crm::testing::IsOk());
    ASSERT_THAT(consumer_->WaitUntilCaughtUp(absl::Seconds(30)),
                ::crm::testing::IsOk());
  }

  std::vector<Envelope> Log() {
    absl::StatusOr<std::vector<Envelope>> log =
        eventstore::test_util::ReadWholeLog(*publisher_store_);
    EXPECT_THAT(log, ::crm::testing::IsOk());
    return log.ok() ? *std::move(log) : std::vector<Envelope>{};
  }

  const Transport transport_;
  eventstore::test_util::ScratchDir dir_;
  std::unique_ptr<eventstore::EventStore> publisher_store_;
  std::unique_ptr<eventstore::EventStore> consumer_store_;
  rocksdb::ColumnFamilyHandle* family_ = nullptr;
  std::unique_ptr<VersionHandler> handler_;
  std::unique_ptr<MockCluster> cluster_;
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<Consumer> consumer_;
};

}  // namespace crm::bus::test_util
