// ProjectionEngine over a source other than the store's own log (an
// in-memory fake standing in for a Kafka topic): opaque checkpoints across
// restarts, an unreadable source retried rather than failed, a blue/green
// rebuild that swaps only once the source is caught up, and two engines on
// one store.
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "counting_projection.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/event_feed.h"
#include "crm/projection/projection.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store_test_util.h"

namespace crm::projection {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using test_util::CountingProjection;
using ::testing::HasSubstr;

constexpr char kCheckpointPrefix[] = "fake@";

// An in-memory source: a log of events at global positions 1, 2, 3 ...
// Its checkpoint is the text "fake@<events delivered>", which nothing could
// take for a local-log checkpoint. Tests can hold events back (the source
// holds them but feeds do not deliver them yet) and make it unreadable.
// Thread-safe.
class FakeSource final : public EventSource {
 public:
  void Add(const std::string& stream, const std::string& payload) {
    absl::MutexLock lock(&mu_);
    Envelope& event = events_.emplace_back();
    event.set_type("test.Happened");
    event.set_stream(stream);
    event.set_payload(payload);
    event.set_global_position(events_.size());
  }
  // Feeds deliver only the first `count` events (and are not caught up
  // while the source holds more).
  void HoldBackAfter(size_t count) {
    absl::MutexLock lock(&mu_);
    deliverable_ = count;
  }
  void DeliverAll() { HoldBackAfter(SIZE_MAX); }
  void SetUnavailable(bool unavailable) {
    absl::MutexLock lock(&mu_);
    unavailable_ = unavailable;
  }

  int failed_calls() const {
    absl::MutexLock lock(&mu_);
    return failed_calls_;
  }
  int reads() const {
    absl::MutexLock lock(&mu_);
    return reads_;
  }
  // The checkpoints feeds were opened at, in order.
  std::vector<std::string> opened_at() const {
    absl::MutexLock lock(&mu_);
    return opened_at_;
  }

  absl::StatusOr<std::unique_ptr<EventFeed>> Open(
      std::string_view checkpoint) override;
  std::string Describe() const override { return "the fake source"; }

 private:
  friend class FakeFeed;

  mutable absl::Mutex mu_;
  std::vector<Envelope> events_ ABSL_GUARDED_BY(mu_);
  size_t deliverable_ ABSL_GUARDED_BY(mu_) = SIZE_MAX;
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;
  int failed_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int reads_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> opened_at_ ABSL_GUARDED_BY(mu_);
};

class FakeFeed final : public EventFeed {
 public:
  FakeFeed(FakeSource& source, size_t next) : source_(source), next_(next) {
    absl::MutexLock lock(&source_.mu_);
    held_ = source_.events_.size();
    position_ = next == 0 ? 0 : source_.events_[next - 1].global_position();
  }

  absl::Status Next(absl::Duration timeout, size_t max_events,
                    std::vector<Envelope>& events,
                    std::string& checkpoint) override {
    events.clear();
    absl::MutexLock lock(&source_.mu_);
    auto ready = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return cancelled_ || source_.unavailable_ || next_ < Deliverable();
    };
    source_.mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    if (cancelled_) return absl::CancelledError("the feed was cancelled");
    ++source_.reads_;
    if (source_.unavailable_) {
      ++source_.failed_calls_;
      return absl::UnavailableError("the fake source is down");
    }
    held_ = source_.events_.size();
    while (next_ < Deliverable() && events.size() < max_events) {
      events.push_back(source_.events_[next_++]);
    }
    if (!events.empty()) {
      position_ = events.back().global_position();
      checkpoint = absl::StrCat(kCheckpointPrefix, next_);
    }
    return absl::OkStatus();
  }

  bool CaughtUp() const override { return next_ >= held_; }
  uint64_t Position() const override { return position_; }
  uint64_t Lag() const override { return held_ - std::min(held_, next_); }
  void Cancel() override {
    absl::MutexLock lock(&source_.mu_);
    cancelled_ = true;
  }

 private:
  size_t Deliverable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(source_.mu_) {
    return std::min(source_.deliverable_, source_.events_.size());
  }

  FakeSource& source_;
  size_t next_;      // Index of the next event to deliver.
  size_t held_ = 0;  // Events the source held at the last look.
  uint64_t position_ = 0;
  bool cancelled_ ABSL_GUARDED_BY(source_.mu_) = false;
};

absl::StatusOr<std::unique_ptr<EventFeed>> FakeSource::Open(
    std::string_view checkpoint) {
  size_t next = 0;
  {
    absl::MutexLock lock(&mu_);
    opened_at_.emplace_back(checkpoint);
    if (unavailable_) {
      ++failed_calls_;
      return absl::UnavailableError("the fake source is down");
    }
    if (!checkpoint.empty()) {
      std::string_view number = checkpoint.substr(
          std::min(checkpoint.size(), sizeof(kCheckpointPrefix) - 1));
      if (checkpoint.substr(0, sizeof(kCheckpointPrefix) - 1) !=
              kCheckpointPrefix ||
          !absl::SimpleAtoi(absl::string_view(number.data(), number.size()),
                            &next) ||
          next > events_.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "not a fake checkpoint: '", std::string(checkpoint), "'"));
      }
    }
  }
  return std::make_unique<FakeFeed>(*this, next);
}

// Run with and without Options::read_ahead (the parameter).
class ProjectionSourceTest : public eventstore::test_util::StoreTest,
                             public ::testing::WithParamInterface<bool> {
 protected:
  ProjectionSourceTest() : StoreTest("projection_source") {}
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false)); }
  void TearDown() override {
    engine_.reset();
    StoreTest::TearDown();
  }

  ProjectionEngine::Options FakeOptions() {
    return {.source = source_,
            .batch_events = 7,
            .read_ahead = GetParam(),
            .poll_interval = absl::Milliseconds(10),
            .max_retry_delay = absl::Milliseconds(40)};
  }

  void StartEngine(std::unique_ptr<Projection> projection,
                   ProjectionEngine::Options options) {
    engine_.reset();
    std::vector<std::unique_ptr<Projection>> projections;
    projections.push_back(std::move(projection));
    ASSERT_OK_AND_ASSIGN(
        engine_, ProjectionEngine::Start(*store_, std::move(projections),
                                         std::move(options)));
  }

  void AddEvents(int count) {
    for (int i = 0; i < count; ++i) {
      source_->Add(absl::StrCat("s", added_ % 5), absl::StrCat("p", added_));
      ++added_;
    }
  }

  // Waits (bounded) until the status satisfies `done`.
  template <typename Predicate>
  void WaitForStatus(Predicate done, const char* what) {
    for (int i = 0; i < 2000; ++i) {
      if (done(engine_->Status().at(0))) return;
      absl::SleepFor(absl::Milliseconds(10));
    }
    FAIL() << "the status did not show " << what << " within 20 s";
  }

  std::string StoredCheckpoint(const std::string& key) {
    auto catalog = store_->ColumnFamily("projection_catalog");
    EXPECT_THAT(catalog, IsOk());
    std::string value;
    if (!catalog.ok()) return value;
    EXPECT_TRUE(
        store_->db().Get(rocksdb::ReadOptions(), *catalog, key, &value).ok());
    return value;
  }

  std::map<std::string, std::string> Dump(const std::string& name) {
    std::map<std::string, std::string> entries;
    auto view = engine_->View(name);
    EXPECT_THAT(view, IsOk());
    if (!view.ok()) return entries;
    auto scanned = (*view)->Scan("", "", 10'000);
    EXPECT_THAT(scanned, IsOk());
    if (scanned.ok()) entries.insert(scanned->begin(), scanned->end());
    return entries;
  }

  std::shared_ptr<FakeSource> source_ = std::make_shared<FakeSource>();
  int added_ = 0;
  std::unique_ptr<ProjectionEngine> engine_;
};

TEST_P(ProjectionSourceTest, OpaqueCheckpointRoundTripsAcrossRestart) {
  std::atomic<int> applied{0};
  AddEvents(30);
  StartEngine(std::make_unique<CountingProjection>(1, &applied), FakeOptions());
  ASSERT_THAT(engine_->WaitForPosition("counts", 30, absl::Seconds(10)),
              IsOk());
  engine_.reset();
  // The source's checkpoint is stored as it is, beside the position.
  EXPECT_EQ(StoredCheckpoint("checkpoint/counts/1"), "fake@30");
  EXPECT_THAT(source_->opened_at(), ::testing::ElementsAre(""));

  AddEvents(5);
  StartEngine(std::make_unique<CountingProjection>(1, &applied), FakeOptions());
  ASSERT_THAT(engine_->WaitForPosition("counts", 35, absl::Seconds(10)),
              IsOk());
  EXPECT_THAT(source_->opened_at(), ::testing::ElementsAre("", "fake@30"));
  EXPECT_EQ(applied.load(), 35);  // Nothing applied twice.
  ASSERT_OK_AND_ASSIGN(auto view, engine_->View("counts"));
  EXPECT_EQ(view->position(), 35u);
  EXPECT_THAT(view->Get("total"),
              IsOkAndHolds(std::optional<std::string>("35")));
  const ProjectionStatus seen = engine_->Status().at(0);
  EXPECT_EQ(seen.source, "the fake source");
  EXPECT_EQ(seen.log_position, 35u);
  EXPECT_EQ(seen.lag, 0u);
  // The local log of the store is not involved at all.
  EXPECT_EQ(store_->LastPosition(), 0u);
}

TEST_P(ProjectionSourceTest, UnreadableSourceIsRetriedNotFailed) {
  AddEvents(10);
  StartEngine(std::make_unique<CountingProjection>(1), FakeOptions());
  ASSERT_THAT(engine_->WaitForPosition("counts", 10, absl::Seconds(10)),
              IsOk());

  source_->SetUnavailable(true);
  AddEvents(5);
  ASSERT_NO_FATAL_FAILURE(WaitForStatus(
      [&](const ProjectionStatus& status) {
        return absl::IsUnavailable(status.error) &&
               source_->failed_calls() >= 3;
      },
      "a retried UNAVAILABLE"));
  const ProjectionStatus seen = engine_->Status().at(0);
  EXPECT_EQ(seen.state, ProjectionState::kCatchingUp);
  EXPECT_THAT(seen.error.message(), HasSubstr("the fake source is down"));
  // The serving version still answers meanwhile.
  ASSERT_OK_AND_ASSIGN(auto view, engine_->View("counts"));
  EXPECT_THAT(view->Get("total"),
              IsOkAndHolds(std::optional<std::string>("10")));

  source_->SetUnavailable(false);
  ASSERT_THAT(engine_->WaitForPosition("counts", 15, absl::Seconds(10)),
              IsOk());
  ASSERT_NO_FATAL_FAILURE(WaitForStatus(
      [](const ProjectionStatus& status) {
        return status.state == ProjectionState::kLive && status.error.ok();
      },
      "live without an error"));
  EXPECT_EQ(Dump("counts")["total"], "15");
}

TEST_P(ProjectionSourceTest, SourceUnreachableAtStartIsRetried) {
  AddEvents(12);
  source_->SetUnavailable(true);
  StartEngine(std::make_unique<CountingProjection>(1), FakeOptions());
  ASSERT_NO_FATAL_FAILURE(WaitForStatus(
      [&](const ProjectionStatus& status) {
        return absl::IsUnavailable(status.error) &&
               source_->failed_calls() >= 3;
      },
      "a retried Open"));
  EXPECT_EQ(engine_->Status().at(0).state, ProjectionState::kBuilding);
  EXPECT_THAT(engine_->View("counts"), StatusIs(absl::StatusCode::kUnavailable,
                                                HasSubstr("being built")));
  source_->SetUnavailable(false);
  ASSERT_THAT(engine_->WaitForPosition("counts", 12, absl::Seconds(10)),
              IsOk());
  EXPECT_EQ(Dump("counts")["total"], "12");
}

TEST_P(ProjectionSourceTest, UndecodableCheckpointFailsTheVersion) {
  ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * catalog,
                       store_->CreateColumnFamily("projection_catalog"));
  ASSERT_OK_AND_ASSIGN(rocksdb::ColumnFamilyHandle * family,
                       store_->CreateColumnFamily("proj_counts_v1"));
  rocksdb::WriteBatch batch;
  batch.Put(catalog, "checkpoint/counts/1", "not-a-fake-checkpoint");
  batch.Put(catalog, "position/counts/1", std::string(8, '\0'));
  batch.Put(family, "total", "0");
  ASSERT_THAT(store_->Write(batch), IsOk());
  AddEvents(3);
  StartEngine(std::make_unique<CountingProjection>(1), FakeOptions());
  EXPECT_THAT(engine_->WaitForPosition("counts", 3, absl::Seconds(10)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a fake checkpoint")));
  EXPECT_EQ(engine_->Status().at(0).state, ProjectionState::kFailed);
}

TEST_P(ProjectionSourceTest, RebuildFromTheSourceSwapsOnlyOnceCaughtUp) {
  AddEvents(200);
  StartEngine(std::make_unique<CountingProjection>(1), FakeOptions());
  ASSERT_THAT(engine_->WaitForPosition("counts", 200, absl::Seconds(10)),
              IsOk());
  const std::map<std::string, std::string> version1 = Dump("counts");

  // Version 2 reads the source from the beginning, but the source delivers
  // only 120 of its 200 events for now: version 2 is not caught up.
  source_->HoldBackAfter(120);
  ProjectionEngine::Options options = FakeOptions();
  options.build_batch_bytes = 1;  // Commit every read.
  StartEngine(std::make_unique<CountingProjection>(2), options);
  ASSERT_NO_FATAL_FAILURE(WaitForStatus(
      [](const ProjectionStatus& status) {
        return status.target_position == 120;
      },
      "version 2 at 120"));
  // A few more reads find nothing new; version 1 keeps serving.
  const int reads = source_->reads();
  for (int i = 0; i < 1000 && source_->reads() < reads + 3; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  const ProjectionStatus seen = engine_->Status().at(0);
  EXPECT_EQ(seen.serving_version, 1u);
  EXPECT_EQ(seen.serving_position, 200u);
  EXPECT_TRUE(seen.rebuilding);
  EXPECT_EQ(seen.state, ProjectionState::kBuilding);
  EXPECT_EQ(seen.log_position, 200u);
  EXPECT_EQ(seen.lag, 80u);
  ASSERT_OK_AND_ASSIGN(auto view, engine_->View("counts"));
  EXPECT_EQ(view->version(), 1u);
  EXPECT_EQ(view->position(), 200u);
  EXPECT_THAT(view->Get("total"),
              IsOkAndHolds(std::optional<std::string>("200")));
  view.reset();

  source_->DeliverAll();
  ASSERT_NO_FATAL_FAILURE(WaitForStatus(
      [](const ProjectionStatus& status) {
        return status.serving_version == 2;
      },
      "version 2 serving"));
  ASSERT_OK_AND_ASSIGN(view, engine_->View("counts"));
  EXPECT_EQ(view->version(), 2u);
  EXPECT_EQ(view->position(), 200u);
  view.reset();
  EXPECT_EQ(Dump("counts"), version1);
}

TEST_P(ProjectionSourceTest, TwoEnginesShareAStoreWithDistinctNames) {
  // One engine follows the store's own log, the other the fake source; both
  // start at once on a fresh store (both create the catalog).
  for (int i = 0; i < 20; ++i) {
    Envelope event;
    event.set_type("test.Happened");
    ASSERT_THAT(store_->Append(absl::StrCat("own", i % 3),
                               eventstore::ExpectedVersion::Any(), {event}),
                IsOk());
  }
  AddEvents(30);
  absl::StatusOr<std::unique_ptr<ProjectionEngine>> own, other;
  std::thread start_own([&] {
    std::vector<std::unique_ptr<Projection>> projections;
    projections.push_back(
        std::make_unique<CountingProjection>(1, nullptr, "", "own_counts"));
    own = ProjectionEngine::Start(*store_, std::move(projections));
  });
  std::thread start_other([&] {
    std::vector<std::unique_ptr<Projection>> projections;
    projections.push_back(
        std::make_unique<CountingProjection>(1, nullptr, "", "sales_counts"));
    other =
        ProjectionEngine::Start(*store_, std::move(projections), FakeOptions());
  });
  start_own.join();
  start_other.join();
  ASSERT_THAT(own, IsOk());
  ASSERT_THAT(other, IsOk());
  ASSERT_THAT((*own)->WaitForPosition("own_counts", 20, absl::Seconds(10)),
              IsOk());
  ASSERT_THAT((*other)->WaitForPosition("sales_counts", 30, absl::Seconds(10)),
              IsOk());
  ASSERT_OK_AND_ASSIGN(auto own_view, (*own)->View("own_counts"));
  ASSERT_OK_AND_ASSIGN(auto other_view, (*other)->View("sales_counts"));
  EXPECT_THAT(own_view->Get("total"),
              IsOkAndHolds(std::optional<std::string>("20")));
  EXPECT_THAT(other_view->Get("total"),
              IsOkAndHolds(std::optional<std::string>("30")));
  EXPECT_EQ((*own)->Status().at(0).source, "the local event log");
  own_view.reset();
  other_view.reset();

  // The same name twice on one store is refused while the first runs.
  std::vector<std::unique_ptr<Projection>> again;
  again.push_back(
      std::make_unique<CountingProjection>(1, nullptr, "", "own_counts"));
  EXPECT_THAT(ProjectionEngine::Start(*store_, std::move(again)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("another engine")));
  own->reset();
  std::vector<std::unique_ptr<Projection>> restarted;
  restarted.push_back(
      std::make_unique<CountingProjection>(1, nullptr, "", "own_counts"));
  ASSERT_OK_AND_ASSIGN(auto engine,
                       ProjectionEngine::Start(*store_, std::move(restarted)));
  EXPECT_THAT(engine->WaitForPosition("own_counts", 20, absl::Seconds(10)),
              IsOk());
}

INSTANTIATE_TEST_SUITE_P(ReadAhead, ProjectionSourceTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "ReadAhead" : "Inline";
                         });

}  // namespace
}  // namespace crm::projection
