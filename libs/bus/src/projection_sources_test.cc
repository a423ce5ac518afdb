// Property: for random event sequences, a projection's state built
// incrementally (live, while the events are appended), rebuilt from the
// local log, and rebuilt from the Kafka topic (with copies the relay
// published again) is byte-for-byte the same. Also the embedded bus's
// projection source, and a topic feed's errors.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "consumer_test_util.h"
#include "crm/bus/bus.h"
#include "crm/bus/topic_source.h"
#include "crm/projection/projection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"

namespace crm::bus {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using projection::ProjectionEngine;
using projection::ProjectionState;
using projection::ProjectionWriter;
using ::testing::HasSubstr;

constexpr char kProjection[] = "quote_digests";

// Folds each stream into "version:digest" (a chain over its payloads) and
// counts events per type: per-stream state, as every projection fed from a
// topic must be (topic_source.h).
class DigestProjection final : public projection::Projection {
 public:
  std::string name() const override { return kProjection; }
  uint32_t version() const override { return 1; }

  absl::Status Apply(const Envelope& event, ProjectionWriter& writer) override {
    const std::string key = "s/" + event.stream();
    ASSIGN_OR_RETURN(std::optional<std::string> last, writer.Get(key));
    uint64_t version = 0;
    uint64_t digest = 1469598103934665603ull;  // FNV-1a offset basis.
    if (last.has_value()) {
      const size_t colon = last->find(':');
      if (!absl::SimpleAtoi(last->substr(0, colon), &version) ||
          !absl::SimpleHexAtoi(last->substr(colon + 1), &digest)) {
        return absl::DataLossError("bad digest entry");
      }
    }
    if (event.stream_version() != version + 1) {
      return absl::FailedPreconditionError(
          fmt::format("stream {} got version {} after {}", event.stream(),
                      event.stream_version(), version));
    }
    for (unsigned char c : event.payload()) {
      digest = (digest ^ c) * 1099511628211ull;
    }
    writer.Put(key, fmt::format("{}:{:016x}", event.stream_version(), digest));
    const std::string type_key = "t/" + event.type();
    ASSIGN_OR_RETURN(std::optional<std::string> count, writer.Get(type_key));
    uint64_t n = 0;
    if (count.has_value() && !absl::SimpleAtoi(*count, &n)) {
      return absl::DataLossError("bad count");
    }
    writer.Put(type_key, std::to_string(n + 1));
    return absl::OkStatus();
  }
};

std::vector<std::unique_ptr<projection::Projection>> Digests() {
  std::vector<std::unique_ptr<projection::Projection>> projections;
  projections.push_back(std::make_unique<DigestProjection>());
  return projections;
}

using Entries = std::vector<std::pair<std::string, std::string>>;

// Waits until the projection serves, caught up with its source (lag 0),
// then reads all of it.
Entries WaitAndDump(const ProjectionEngine& engine, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    const projection::ProjectionStatus status = engine.Status()[0];
    EXPECT_NE(status.state, ProjectionState::kFailed) << status.error;
    if (status.state == ProjectionState::kLive && status.lag == 0 &&
        !status.rebuilding) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  absl::StatusOr<std::shared_ptr<const projection::ProjectionView>> view =
      engine.View(kProjection);
  EXPECT_THAT(view, IsOk());
  Entries all;
  if (!view.ok()) return all;
  std::string after;
  for (int page = 0; page < 10'000; ++page) {
    absl::StatusOr<Entries> entries = (*view)->Scan("", after, 500);
    EXPECT_THAT(entries, IsOk());
    if (!entries.ok() || entries->empty()) break;
    after = entries->back().first;
    all.insert(all.end(), entries->begin(), entries->end());
  }
  return all;
}

// Everything the serving version holds, without waiting.
Entries WaitAndDumpServing(const ProjectionEngine& engine) {
  absl::StatusOr<std::shared_ptr<const projection::ProjectionView>> view =
      engine.View(kProjection);
  EXPECT_THAT(view, IsOk());
  if (!view.ok()) return {};
  absl::StatusOr<Entries> entries = (*view)->Scan("", "", 100'000);
  EXPECT_THAT(entries, IsOk());
  return entries.ok() ? *entries : Entries{};
}

class ProjectionSourcesTest : public test_util::BusTest {
 protected:
  ProjectionSourcesTest() : BusTest(test_util::Transport::kKafka) {}

  // Appends `count` random events: random streams (of `streams`), payload
  // sizes and types, sometimes several streams in one atomic append.
  void AppendRandom(std::mt19937& random, int count, int streams) {
    std::uniform_int_distribution<int> stream_of(0, streams - 1);
    std::uniform_int_distribution<int> size_of(0, 160);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> multi(0, 9);
    const char* types[] = {"crm.sales.v1.QuoteSent",
                           "crm.sales.v1.QuoteRevised",
                           "crm.sales.v1.OpportunityWon"};
    auto event = [&] {
      Envelope e;
      e.set_type(types[byte(random) % 3]);
      std::string payload(static_cast<size_t>(size_of(random)), '\0');
      for (char& c : payload) c = static_cast<char>(byte(random));
      e.set_payload(payload);
      return e;
    };
    for (int i = 0; i < count;) {
      if (multi(random) == 0 && streams >= 3) {
        std::vector<eventstore::StreamAppend> appends;
        for (int s = stream_of(random), n = 0; n < 3;
             ++n, s = (s + 1) % streams) {
          appends.push_back(
              {.stream = fmt::format("quote-{}", s),
               .expected_version = eventstore::ExpectedVersion::Any(),
               .events = {event()}});
        }
        ASSERT_THAT(publisher_store_->AppendMulti(std::move(appends)), IsOk());
        i += 3;
      } else {
        ASSERT_THAT(publisher_store_->Append(
                        fmt::format("quote-{}", stream_of(random)),
                        eventstore::ExpectedVersion::Any(), {event()}),
                    IsOk());
        ++i;
      }
    }
  }

  // Forgets the relay's cursor from `position` on, so the restarted
  // publisher produces those events again (as after a crash).
  void RepublishFrom(uint64_t position) {
    publisher_.reset();
    ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * relay_family,
                         publisher_store_->ColumnFamily(kRelayColumnFamily));
    std::string cursor;
    for (int i = 7; i >= 0; --i) {
      cursor.push_back(static_cast<char>(((position - 1) >> (8 * i)) & 0xff));
    }
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put(relay_family, test_util::kSourceTopic, cursor).ok());
    ASSERT_THAT(publisher_store_->Write(batch), IsOk());
    ASSERT_OK_AND_ASSIGN(
        publisher_,
        bus_->StartPublisher(*publisher_store_, test_util::kSourceService));
  }
};

TEST_F(ProjectionSourcesTest, IncrementalLocalRebuildAndKafkaRebuildAreEqual) {
  for (int seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    std::mt19937 random(static_cast<uint32_t>(seed));
    // The publisher's own projection, live while events are appended.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ProjectionEngine> incremental,
                         ProjectionEngine::Start(*publisher_store_, Digests()));
    const int streams = std::uniform_int_distribution<int>(1, 40)(random);
    AppendRandom(random, 400, streams);
    ASSERT_THAT(publisher_->Flush(absl::Seconds(30)), IsOk());
    // Copies of a suffix, as after a relay crash.
    const uint64_t last = publisher_store_->LastPosition();
    RepublishFrom(std::uniform_int_distribution<uint64_t>(1, last)(random));
    AppendRandom(random, 100, streams);
    ASSERT_THAT(publisher_->Flush(absl::Seconds(30)), IsOk());

    eventstore::test_util::ScratchDir replicas("replicas");
    std::unique_ptr<eventstore::EventStore> local_replica =
        test_util::OpenTestStore(replicas.path() / "local");
    std::unique_ptr<eventstore::EventStore> kafka_replica =
        test_util::OpenTestStore(replicas.path() / "kafka");
    ASSERT_NE(local_replica, nullptr);
    ASSERT_NE(kafka_replica, nullptr);
    ProjectionEngine::Options from_log;
    from_log.source = projection::LocalLogSource(*publisher_store_);
    from_log.batch_events = 64;
    ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<ProjectionEngine> local_rebuild,
        ProjectionEngine::Start(*local_replica, Digests(), from_log));
    ProjectionEngine::Options from_topic;
    from_topic.source = bus_->ProjectionSource(test_util::kSourceService);
    from_topic.batch_events = 64;
    ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<ProjectionEngine> kafka_rebuild,
        ProjectionEngine::Start(*kafka_replica, Digests(), from_topic));

    const Entries expected = WaitAndDump(*incremental, absl::Seconds(30));
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(WaitAndDump(*local_rebuild, absl::Seconds(30)), expected);
    EXPECT_EQ(WaitAndDump(*kafka_rebuild, absl::Seconds(60)), expected);
    EXPECT_EQ(kafka_rebuild->Status()[0].serving_position,
              publisher_store_->LastPosition());
    kafka_rebuild.reset();
    local_rebuild.reset();
    incremental.reset();
  }
}

TEST_F(ProjectionSourcesTest, TopicFeedResumesFromItsCheckpointAfterRestart) {
  std::mt19937 random(7);
  AppendRandom(random, 200, 10);
  ASSERT_THAT(publisher_->Flush(absl::Seconds(30)), IsOk());
  ProjectionEngine::Options from_topic;
  from_topic.source = bus_->ProjectionSource(test_util::kSourceService);
  from_topic.batch_events = 32;
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ProjectionEngine> engine,
      ProjectionEngine::Start(*consumer_store_, Digests(), from_topic));
  WaitAndDump(*engine, absl::Seconds(60));
  engine.reset();
  AppendRandom(random, 200, 10);
  ASSERT_THAT(publisher_->Flush(absl::Seconds(30)), IsOk());
  // The digest refuses a repeated event, so a re-read from the beginning
  // would fail the projection.
  ASSERT_OK_AND_ASSIGN(
      engine, ProjectionEngine::Start(*consumer_store_, Digests(), from_topic));
  const Entries restarted = WaitAndDump(*engine, absl::Seconds(60));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ProjectionEngine> local,
                       ProjectionEngine::Start(*publisher_store_, Digests()));
  EXPECT_EQ(restarted, WaitAndDump(*local, absl::Seconds(30)));
}

TEST_F(ProjectionSourcesTest, SwitchingAVersionToTheTopicNeedsANewVersion) {
  std::mt19937 random(11);
  AppendRandom(random, 50, 5);
  ASSERT_THAT(publisher_->Flush(absl::Seconds(30)), IsOk());
  // Version 1 built from the embedded bus's (local log) source ...
  std::unique_ptr<Bus> embedded = NewEmbeddedBus();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Publisher> local_publisher,
                       embedded->StartPublisher(*publisher_store_, "sales"));
  ProjectionEngine::Options options;
  options.source = embedded->ProjectionSource("sales");
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ProjectionEngine> engine,
      ProjectionEngine::Start(*consumer_store_, Digests(), options));
  const Entries built = WaitAndDump(*engine, absl::Seconds(20));
  engine.reset();
  // ... cannot go on from the topic: its checkpoint means nothing there.
  options.source = bus_->ProjectionSource(test_util::kSourceService);
  ASSERT_OK_AND_ASSIGN(
      engine, ProjectionEngine::Start(*consumer_store_, Digests(), options));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline &&
         engine->Status()[0].state != ProjectionState::kFailed) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const projection::ProjectionStatus status = engine->Status()[0];
  EXPECT_EQ(status.state, ProjectionState::kFailed);
  EXPECT_THAT(status.error, StatusIs(absl::StatusCode::kDataLoss,
                                     HasSubstr("not a topic checkpoint")));
  // The state it had keeps serving.
  EXPECT_EQ(WaitAndDumpServing(*engine), built);
}

TEST(EmbeddedProjectionSourceTest, FollowsThePublisherOnceItPublishes) {
  eventstore::test_util::ScratchDir dir("embedded_source");
  std::unique_ptr<eventstore::EventStore> sales =
      test_util::OpenTestStore(dir.path() / "sales");
  std::unique_ptr<eventstore::EventStore> contact =
      test_util::OpenTestStore(dir.path() / "contact");
  std::unique_ptr<Bus> bus = NewEmbeddedBus();
  ProjectionEngine::Options options;
  options.source = bus->ProjectionSource("sales");
  options.max_retry_delay = absl::Milliseconds(20);
  // Started before the publisher: it waits for it.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ProjectionEngine> engine,
                       ProjectionEngine::Start(*contact, Digests(), options));
  test_util::AppendRounds(*sales, 5, 4);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Publisher> publisher,
                       bus->StartPublisher(*sales, "sales"));
  const Entries replica = WaitAndDump(*engine, absl::Seconds(20));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ProjectionEngine> own,
                       ProjectionEngine::Start(*sales, Digests()));
  EXPECT_EQ(replica, WaitAndDump(*own, absl::Seconds(20)));
  EXPECT_EQ(replica.size(), 6u);  // 5 streams and 1 type.
  engine.reset();
  own.reset();
}

}  // namespace
}  // namespace crm::bus
