// ProjectionEngine on a real event store: building from the log, checkpoints
// across restarts, read-your-writes, blue/green rebuilds while reads go on,
// a rebuild resumed after a restart, a rollback to a dropped version, a
// failing projection, and projections sharing one read of the log.
// (Other sources: projection_source_test.cc.)
#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "counting_projection.h"
#include "crm/base/status_macros.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/projection.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store_test_util.h"

namespace crm::projection {
namespace {

using ::crm::eventstore::ExpectedVersion;
using ::crm::testing::IsOk;
using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using test_util::CountingProjection;
using ::testing::ElementsAre;
using ::testing::Pair;

// CountingProjection that stops before applying the event at `gate_at`
// until `gate` is notified (at most 20 s), so a test can act while the
// version is half built.
class GatedProjection final : public Projection {
 public:
  GatedProjection(uint32_t version, uint64_t gate_at, absl::Notification* gate)
      : counting_(version), gate_at_(gate_at), gate_(gate) {}
  std::string name() const override { return counting_.name(); }
  uint32_t version() const override { return counting_.version(); }
  absl::Status Apply(const Envelope& event, ProjectionWriter& writer) override {
    if (event.global_position() == gate_at_) {
      gate_->WaitForNotificationWithTimeout(absl::Seconds(20));
    }
    return counting_.Apply(event, writer);
  }

 private:
  CountingProjection counting_;
  uint64_t gate_at_;
  absl::Notification* gate_;
};

// The store's own log, counting the feeds opened and still open: one feed
// serves every projection at the same checkpoint.
class CountingSource final : public EventSource {
 public:
  explicit CountingSource(eventstore::EventStore& store)
      : inner_(LocalLogSource(store)) {}

  absl::StatusOr<std::unique_ptr<EventFeed>> Open(
      std::string_view checkpoint) override {
    ASSIGN_OR_RETURN(std::unique_ptr<EventFeed> feed, inner_->Open(checkpoint));
    ++opened;
    return std::make_unique<Feed>(std::move(feed), open);
  }
  std::string Describe() const override { return inner_->Describe(); }

  std::atomic<int> opened{0};
  std::atomic<int> open{0};

 private:
  class Feed final : public EventFeed {
   public:
    Feed(std::unique_ptr<EventFeed> inner, std::atomic<int>& open)
        : inner_(std::move(inner)), open_(open) {
      ++open_;
    }
    ~Feed() override { --open_; }
    absl::Status Next(absl::Duration timeout, size_t max_events,
                      std::vector<Envelope>& events,
                      std::string& checkpoint) override {
      return inner_->Next(timeout, max_events, events, checkpoint);
    }
    bool CaughtUp() const override { return inner_->CaughtUp(); }
    uint64_t Position() const override { return inner_->Position(); }
    uint64_t Lag() const override { return inner_->Lag(); }
    void Cancel() override { inner_->Cancel(); }

   private:
    std::unique_ptr<EventFeed> inner_;
    std::atomic<int>& open_;
  };

  std::unique_ptr<EventSource> inner_;
};

// Counting projections named `names` (version 1 unless in `versions`).
std::vector<std::unique_ptr<Projection>> Counters(
    const std::vector<std::string>& names,
    const std::map<std::string, uint32_t>& versions = {},
    std::atomic<int>* applied = nullptr, const std::string& fail_on = "") {
  std::vector<std::unique_ptr<Projection>> projections;
  for (const std::string& name : names) {
    auto version = versions.find(name);
    projections.push_back(std::make_unique<CountingProjection>(
        version == versions.end() ? 1 : version->second, applied,
        name == "b" ? fail_on : "", name));
  }
  return projections;
}

class ProjectionEngineTest : public eventstore::test_util::StoreTest {
 protected:
  ProjectionEngineTest() : StoreTest("projection_engine") {}
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false)); }
  void TearDown() override {
    engine_.reset();
    StoreTest::TearDown();
  }

  void StartEngine(std::unique_ptr<Projection> projection,
                   ProjectionEngine::Options options = {}) {
    std::vector<std::unique_ptr<Projection>> projections;
    projections.push_back(std::move(projection));
    StartEngine(std::move(projections), std::move(options));
  }
  void StartEngine(std::vector<std::unique_ptr<Projection>> projections,
                   ProjectionEngine::Options options = {}) {
    engine_.reset();
    ASSERT_OK_AND_ASSIGN(
        engine_, ProjectionEngine::Start(*store_, std::move(projections),
                                         std::move(options)));
  }

  uint64_t Append(const std::string& stream, const std::string& payload) {
    Envelope event;
    event.set_type("test.Happened");
    event.set_payload(payload);
    auto result = store_->Append(stream, ExpectedVersion::Any(), {event});
    EXPECT_THAT(result, IsOk());
    return result.ok() ? result->last_position : 0;
  }

  // Appends `count` events spread over 17 streams, 100 per append.
  void AppendMany(int count) {
    for (int done = 0; done < count;) {
      std::vector<Envelope> events(std::min(100, count - done));
      for (Envelope& event : events) {
        event.set_type("test.Happened");
        event.set_payload(absl::StrCat("p", done++));
      }
      ASSERT_THAT(store_->Append(absl::StrCat("s", done % 17),
                                 ExpectedVersion::Any(), std::move(events)),
                  IsOk());
    }
  }

  // Waits (bounded) until `version` serves reads.
  void WaitForServingVersion(uint32_t version) {
    for (int i = 0; i < 2000; ++i) {
      if (engine_->Status().at(0).serving_version == version) return;
      absl::SleepFor(absl::Milliseconds(10));
    }
    FAIL() << "version " << version << " did not start serving within 20 s";
  }

  // Waits (bounded) until every projection serves its code's version and
  // is caught up: each has opened its feed by then.
  void WaitUntilAllLive() {
    for (int i = 0; i < 3000; ++i) {
      const std::vector<ProjectionStatus> statuses = engine_->Status();
      if (std::all_of(statuses.begin(), statuses.end(), [](auto& status) {
            return status.state == ProjectionState::kLive && !status.rebuilding;
          })) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    FAIL() << "the projections were not all live within 30 s";
  }

  // Appends one event to `stream`, then expects projections "a", "b" and
  // "c" to have counted every event of the log exactly once.
  void AppendAndExpectEachCountsTheLog(const std::string& stream) {
    const uint64_t last = Append(stream, "x");
    for (const char* name : {"a", "b", "c"}) {
      ASSERT_THAT(engine_->WaitForPosition(name, last, absl::Seconds(30)),
                  IsOk());
      EXPECT_EQ(Dump(name)["total"], absl::StrCat(last)) << name;
    }
  }

  // Every entry of the serving version.
  std::map<std::string, std::string> Dump(std::string_view name = "counts") {
    std::map<std::string, std::string> entries;
    auto view = engine_->View(name);
    EXPECT_THAT(view, IsOk());
    if (!view.ok()) return entries;
    std::string after;
    for (int page = 0; page < 10'000; ++page) {
      auto scanned = (*view)->Scan("", after, 100);
      EXPECT_THAT(scanned, IsOk());
      if (!scanned.ok() || scanned->empty()) break;
      for (auto& [key, value] : *scanned) entries[key] = value;
      after = scanned->back().first;
    }
    return entries;
  }

  // Projection `rebuilt` (of "a", "b", "c") is rebuilt as version 2 beside
  // the two live ones while events keep coming: it reads on a feed of its
  // own until it has caught up, then the runners join on one feed. Each
  // counts every event of the log exactly once.
  void RebuildBesideLiveOnes(const std::string& rebuilt) {
    ASSERT_NO_FATAL_FAILURE(AppendMany(2000));
    StartEngine(Counters({"a", "b", "c"}));
    ASSERT_THAT(engine_->WaitForPosition(rebuilt, store_->LastPosition(),
                                         absl::Seconds(30)),
                IsOk());
    auto source = std::make_shared<CountingSource>(*store_);
    StartEngine(Counters({"a", "b", "c"}, {{rebuilt, 2}}),
                {.source = source,
                 .batch_events = 64,
                 .poll_interval = absl::Milliseconds(10)});
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      for (int i = 0; i < 200 && !stop; ++i) Append("late", absl::StrCat(i));
    });
    absl::Cleanup join = [&] {
      stop = true;
      writer.join();
    };
    ASSERT_NO_FATAL_FAILURE(WaitUntilAllLive());
    std::move(join).Invoke();
    for (int i = 0; i < 2000 && source->open.load() > 1; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_EQ(source->open.load(), 1) << "the runners did not join";
    EXPECT_EQ(source->opened.load(), 2);
    ASSERT_NO_FATAL_FAILURE(AppendAndExpectEachCountsTheLog("after"));
    ASSERT_OK_AND_ASSIGN(auto view, engine_->View(rebuilt));
    EXPECT_EQ(view->version(), 2u);
  }

  std::unique_ptr<ProjectionEngine> engine_;
};

TEST_F(ProjectionEngineTest, BuildsFromTheLogAndFollowsNewEvents) {
  Append("a", "a1");
  Append("b", "b1");
  StartEngine(std::make_unique<CountingProjection>(1));
  const uint64_t position = Append("a", "a2");
  ASSERT_THAT(engine_->WaitForPosition("counts", position, absl::Seconds(10)),
              IsOk());
  ASSERT_OK_AND_ASSIGN(auto view, engine_->View("counts"));
  EXPECT_EQ(view->version(), 1u);
  EXPECT_GE(view->position(), position);
  EXPECT_THAT(view->Get("count/a"),
              IsOkAndHolds(std::optional<std::string>("2")));
  EXPECT_THAT(view->Get("last/a"),
              IsOkAndHolds(std::optional<std::string>("a2")));
  EXPECT_THAT(view->Get("missing"), IsOkAndHolds(std::nullopt));
  ASSERT_OK_AND_ASSIGN(auto counts, view->Scan("count/", "", 10));
  EXPECT_THAT(counts, ElementsAre(Pair("count/a", "2"), Pair("count/b", "1")));
  ASSERT_OK_AND_ASSIGN(auto after_a, view->Scan("count/", "count/a", 10));
  EXPECT_THAT(after_a, ElementsAre(Pair("count/b", "1")));
  EXPECT_THAT(view->Scan("", "", 0),
              StatusIs(absl::StatusCode::kInvalidArgument));

  std::vector<ProjectionStatus> statuses = engine_->Status();
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].name, "counts");
  EXPECT_EQ(statuses[0].serving_version, 1u);
  EXPECT_FALSE(statuses[0].rebuilding);
  EXPECT_EQ(statuses[0].log_position, position);
}

TEST_F(ProjectionEngineTest, CheckpointSurvivesRestartSoNothingIsAppliedTwice) {
  std::atomic<int> applied{0};
  for (int i = 0; i < 20; ++i) Append("s", absl::StrCat(i));
  StartEngine(std::make_unique<CountingProjection>(1, &applied));
  ASSERT_THAT(engine_->WaitForPosition("counts", 20, absl::Seconds(10)),
              IsOk());
  engine_.reset();
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  const uint64_t position = Append("s", "20");
  StartEngine(std::make_unique<CountingProjection>(1, &applied));
  ASSERT_THAT(engine_->WaitForPosition("counts", position, absl::Seconds(10)),
              IsOk());
  EXPECT_EQ(applied.load(), 21);
  EXPECT_EQ(Dump()["total"], "21");
}

TEST_F(ProjectionEngineTest,
       NewVersionRebuildsBesideTheOldAndSwapsWhileReadsGoOn) {
  std::mt19937 random(7);
  for (int i = 0; i < 300; ++i) {
    Append(absl::StrCat("s", random() % 17), absl::StrCat("p", i));
  }
  StartEngine(std::make_unique<CountingProjection>(1));
  ASSERT_THAT(engine_->WaitForPosition("counts", 300, absl::Seconds(10)),
              IsOk());
  const std::map<std::string, std::string> incremental = Dump();

  // Version 2 builds from the beginning in small batches while a reader
  // keeps reading: every read succeeds, and no view ever goes back in
  // position or version (a half-built version 2 would).
  StartEngine(std::make_unique<CountingProjection>(2),
              {.batch_events = 7, .poll_interval = absl::Milliseconds(10)});
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    uint64_t last_position = 0;
    uint32_t last_version = 0;
    for (int i = 0; i < 100'000 && !stop; ++i) {
      auto view = engine_->View("counts");
      ASSERT_THAT(view, IsOk());
      ASSERT_GE((*view)->version(), last_version);
      ASSERT_GE((*view)->position(), last_position);
      last_version = (*view)->version();
      last_position = (*view)->position();
      ASSERT_THAT((*view)->Get("total"), IsOk());
      ++reads;
    }
  });
  const uint64_t position = Append("late", "after-rebuild-start");
  ASSERT_THAT(engine_->WaitForPosition("counts", position, absl::Seconds(20)),
              IsOk());
  stop = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);

  ASSERT_OK_AND_ASSIGN(auto view, engine_->View("counts"));
  EXPECT_EQ(view->version(), 2u);
  std::map<std::string, std::string> rebuilt = Dump();
  EXPECT_EQ(rebuilt["count/late"], "1");
  rebuilt.erase("count/late");
  rebuilt.erase("last/late");
  rebuilt["total"] = incremental.at("total");
  EXPECT_EQ(rebuilt, incremental);  // Rebuilt state equals incremental state.
  view.reset();

  // The old version's column family is dropped once no view reads it.
  for (int i = 0; i < 200 && store_->ColumnFamily("proj_counts_v1").ok(); ++i) {
    Append("tick", absl::StrCat(i));  // Wakes the runner, which drops it.
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_THAT(store_->ColumnFamily("proj_counts_v1"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ProjectionEngineTest,
       BlueGreenRebuildWhileReadsContinueNeverFailsNorShowsAHalfBuiltVersion) {
  constexpr int kEvents = 20'000;
  ASSERT_NO_FATAL_FAILURE(AppendMany(kEvents));
  StartEngine(std::make_unique<CountingProjection>(1));
  ASSERT_THAT(engine_->WaitForPosition("counts", kEvents, absl::Seconds(60)),
              IsOk());

  // Version 2 commits every read of 64 events, and stops halfway until the
  // reader has read on for a while: its half-built state is on disk while
  // version 1 serves.
  absl::Notification gate;
  StartEngine(std::make_unique<GatedProjection>(2, kEvents / 2, &gate),
              {.batch_events = 64,
               .build_batch_bytes = 1,
               .poll_interval = absl::Milliseconds(10)});
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::atomic<int> version2_reads{0};
  // Every read succeeds, and shows a complete state: the total counts
  // exactly the events up to the view's position, which never goes back,
  // and version 2 is only seen complete (at least at the rebuild's start).
  std::thread reader([&] {
    uint64_t last_position = 0;
    uint32_t last_version = 0;
    for (int i = 0; i < 1'000'000 && !stop; ++i) {
      auto view = engine_->View("counts");
      ASSERT_THAT(view, IsOk());
      auto total = (*view)->Get("total");
      ASSERT_THAT(total, IsOk());
      ASSERT_TRUE(total->has_value());
      ASSERT_EQ(**total, absl::StrCat((*view)->position()));
      ASSERT_GE((*view)->version(), last_version);
      ASSERT_GE((*view)->position(), last_position);
      if ((*view)->version() == 2) {
        ASSERT_GE((*view)->position(), static_cast<uint64_t>(kEvents));
        ++version2_reads;
      }
      last_version = (*view)->version();
      last_position = (*view)->position();
      ++reads;
    }
  });
  // Appends go on during the rebuild too.
  std::thread writer([&] {
    for (int i = 0; i < 300 && !stop; ++i) Append("late", absl::StrCat(i));
  });
  // Also when an assertion below returns early.
  absl::Cleanup join = [&] {
    if (!gate.HasBeenNotified()) gate.Notify();
    stop = true;
    writer.join();
    reader.join();
  };
  for (int i = 0; i < 2000; ++i) {
    const ProjectionStatus status = engine_->Status().at(0);
    if (status.target_position >= kEvents / 2 - 64 && reads.load() >= 200) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  {
    const ProjectionStatus status = engine_->Status().at(0);
    EXPECT_EQ(status.serving_version, 1u);
    EXPECT_GE(status.target_position, static_cast<uint64_t>(kEvents / 2 - 64));
    EXPECT_LT(status.target_position, static_cast<uint64_t>(kEvents));
    EXPECT_EQ(version2_reads.load(), 0);
  }
  gate.Notify();
  for (int i = 0; i < 2000 && store_->LastPosition() < kEvents + 300; ++i) {
    absl::SleepFor(absl::Milliseconds(10));  // The writer's last appends.
  }
  const uint64_t last = store_->LastPosition();
  ASSERT_NO_FATAL_FAILURE(WaitForServingVersion(2));
  ASSERT_THAT(engine_->WaitForPosition("counts", last, absl::Seconds(60)),
              IsOk());
  for (int i = 0; i < 1000 && version2_reads.load() < 10; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  std::move(join).Invoke();
  EXPECT_GT(version2_reads.load(), 0);
  EXPECT_EQ(Dump()["total"], absl::StrCat(last));
}

TEST_F(ProjectionEngineTest, RollingBackToADroppedVersionRebuildsIt) {
  for (int i = 0; i < 50; ++i) Append(absl::StrCat("s", i % 3), "x");
  StartEngine(std::make_unique<CountingProjection>(1));
  ASSERT_THAT(engine_->WaitForPosition("counts", 50, absl::Seconds(10)),
              IsOk());
  StartEngine(std::make_unique<CountingProjection>(2));
  ASSERT_NO_FATAL_FAILURE(WaitForServingVersion(2));
  for (int i = 0; i < 30; ++i) Append(absl::StrCat("s", i % 3), "y");
  ASSERT_THAT(engine_->WaitForPosition("counts", 80, absl::Seconds(10)),
              IsOk());
  engine_.reset();  // Drops version 1 (no view reads it).
  ASSERT_THAT(store_->ColumnFamily("proj_counts_v1"),
              StatusIs(absl::StatusCode::kNotFound));

  // Back to version 1: built again from the start, not from where the
  // dropped version 1 had stopped.
  StartEngine(std::make_unique<CountingProjection>(1));
  ASSERT_NO_FATAL_FAILURE(WaitForServingVersion(1));
  ASSERT_THAT(engine_->WaitForPosition("counts", 80, absl::Seconds(10)),
              IsOk());
  EXPECT_EQ(Dump()["total"], "80");
}

TEST_F(ProjectionEngineTest, RebuildStoppedMidwayResumesFromItsCheckpoint) {
  for (int i = 0; i < 500; ++i)
    Append(absl::StrCat("s", i % 5), absl::StrCat(i));
  StartEngine(std::make_unique<CountingProjection>(1));
  ASSERT_THAT(engine_->WaitForPosition("counts", 500, absl::Seconds(10)),
              IsOk());

  std::atomic<int> applied{0};
  StartEngine(std::make_unique<CountingProjection>(2, &applied),
              {.batch_events = 5, .poll_interval = absl::Milliseconds(10)});
  for (int i = 0; i < 1000 && applied.load() < 50; ++i) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  engine_.reset();  // Stops in the middle of the rebuild.
  const int before_restart = applied.load();
  ASSERT_GT(before_restart, 0);
  ASSERT_LT(before_restart, 500);
  // Version 1 serves meanwhile; version 2 resumes where it stopped.
  StartEngine(std::make_unique<CountingProjection>(2, &applied));
  ASSERT_NO_FATAL_FAILURE(WaitForServingVersion(2));
  ASSERT_THAT(engine_->WaitForPosition("counts", 500, absl::Seconds(20)),
              IsOk());
  ASSERT_OK_AND_ASSIGN(auto view, engine_->View("counts"));
  EXPECT_EQ(view->version(), 2u);
  EXPECT_EQ(applied.load(), 500);  // Every event applied exactly once.
  EXPECT_THAT(view->Get("total"),
              IsOkAndHolds(std::optional<std::string>("500")));
}

TEST_F(ProjectionEngineTest, FirstBuildIsNotServedUntilCaughtUp) {
  for (int i = 0; i < 2000; ++i) Append("s", absl::StrCat(i));
  StartEngine(std::make_unique<CountingProjection>(1),
              {.batch_events = 1, .poll_interval = absl::Milliseconds(10)});
  absl::StatusOr<std::shared_ptr<const ProjectionView>> early =
      engine_->View("counts");
  if (!early.ok()) {
    EXPECT_THAT(early, StatusIs(absl::StatusCode::kUnavailable,
                                ::testing::HasSubstr("being built")));
  } else {
    // Only possible if it caught up already: then it must be complete.
    EXPECT_THAT((*early)->Get("total"),
                IsOkAndHolds(std::optional<std::string>("2000")));
  }
  ASSERT_THAT(engine_->WaitForPosition("counts", 2000, absl::Seconds(30)),
              IsOk());
  EXPECT_EQ(Dump()["total"], "2000");
}

TEST_F(ProjectionEngineTest, FailingApplyStopsTheVersionAndSaysWhy) {
  Append("s", "good");
  Append("s", "poison");
  Append("s", "after");
  StartEngine(std::make_unique<CountingProjection>(1, nullptr, "poison"));
  absl::Status waited =
      engine_->WaitForPosition("counts", 3, absl::Seconds(10));
  EXPECT_THAT(waited, StatusIs(absl::StatusCode::kFailedPrecondition,
                               ::testing::HasSubstr("global position 2")));
  std::vector<ProjectionStatus> statuses = engine_->Status();
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state, ProjectionState::kFailed);
  EXPECT_THAT(statuses[0].error.message(), ::testing::HasSubstr("poison"));
  EXPECT_EQ(ProjectionStateName(statuses[0].state), "failed");
}

TEST_F(ProjectionEngineTest, ProjectionsAtOneCheckpointShareOneFeed) {
  ASSERT_NO_FATAL_FAILURE(AppendMany(3000));
  auto source = std::make_shared<CountingSource>(*store_);
  StartEngine(Counters({"a", "b", "c"}), {.source = source});
  ASSERT_NO_FATAL_FAILURE(WaitUntilAllLive());
  EXPECT_EQ(source->opened.load(), 1);
  ASSERT_NO_FATAL_FAILURE(AppendAndExpectEachCountsTheLog("late"));
  // Their checkpoints committed together: a restart shares one feed again.
  auto restarted = std::make_shared<CountingSource>(*store_);
  StartEngine(Counters({"a", "b", "c"}), {.source = restarted});
  ASSERT_NO_FATAL_FAILURE(WaitUntilAllLive());
  EXPECT_EQ(restarted->opened.load(), 1);
}

TEST_F(ProjectionEngineTest, ARebuiltFirstVersionTakesTheLiveOnesWhenCaughtUp) {
  // "a" sorts first: the live ones' runner hands them to the rebuilt one's.
  RebuildBesideLiveOnes("a");
}

TEST_F(ProjectionEngineTest, ARebuiltLastVersionJoinsTheLiveOnesWhenCaughtUp) {
  RebuildBesideLiveOnes("c");
}

TEST_F(ProjectionEngineTest, AFailingProjectionLeavesTheOthersSharingItsFeed) {
  Append("s", "good");
  Append("s", "poison");
  const uint64_t after = Append("s", "after");
  StartEngine(Counters({"a", "b", "c"}, {}, nullptr, "poison"));
  EXPECT_THAT(engine_->WaitForPosition("b", after, absl::Seconds(10)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("global position 2")));
  const uint64_t later = Append("s", "later");
  for (const char* name : {"a", "c"}) {
    ASSERT_THAT(engine_->WaitForPosition(name, later, absl::Seconds(10)),
                IsOk());
    EXPECT_EQ(Dump(name)["total"], "4") << name;
  }
  EXPECT_EQ(engine_->Status().at(1).state, ProjectionState::kFailed);
}

TEST_F(ProjectionEngineTest,
       ALargeReadIsAppliedInParallelAndAFailureStaysApart) {
  // One read of 1,000 events, applied to the three on three threads; "b"
  // fails at the event with payload p500 (global position 501).
  ASSERT_NO_FATAL_FAILURE(AppendMany(1000));
  std::atomic<int> applied{0};
  StartEngine(Counters({"a", "b", "c"}, {}, &applied, "p500"),
              {.apply_threads = 3});
  EXPECT_THAT(engine_->WaitForPosition("b", 1000, absl::Seconds(30)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("global position 501")));
  for (const char* name : {"a", "c"}) {
    ASSERT_THAT(engine_->WaitForPosition(name, 1000, absl::Seconds(30)),
                IsOk());
    EXPECT_EQ(Dump(name)["total"], "1000") << name;
  }
  // "b" applied the 500 events before p500 once, then stopped.
  EXPECT_EQ(applied.load(), 2 * 1000 + 500);
  EXPECT_EQ(engine_->Status().at(1).state, ProjectionState::kFailed);
  const uint64_t later = Append("s", "later");
  ASSERT_THAT(engine_->WaitForPosition("c", later, absl::Seconds(10)), IsOk());
  EXPECT_EQ(Dump("c")["total"], "1001");
}

TEST_F(ProjectionEngineTest,
       ADiskFailureInAParallelCommitLosesNothingOnceReopened) {
  // One read of 1,000 events applied to three versions on three threads,
  // then committed as three batches in parallel: the disk fails under that
  // commit. The gate holds the last event until the disk is failing.
  eventstore::test_util::FailingWalEnv disk;
  absl::Cleanup close = [this] {  // Before `disk`, which the store may use.
    engine_.reset();
    store_.reset();
  };
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false, &disk));
  ASSERT_NO_FATAL_FAILURE(AppendMany(1000));
  absl::Notification gate;
  std::vector<std::unique_ptr<Projection>> projections = Counters({"a", "b"});
  projections.push_back(std::make_unique<GatedProjection>(1, 1000, &gate));
  StartEngine(std::move(projections), {.apply_threads = 3});
  disk.failing = true;
  gate.Notify();
  for (const char* name : {"a", "b", "counts"}) {
    EXPECT_THAT(engine_->WaitForPosition(name, 1000, absl::Seconds(30)),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         ::testing::HasSubstr("disk failed")))
        << name;
  }
  for (const ProjectionStatus& status : engine_->Status()) {
    EXPECT_EQ(status.state, ProjectionState::kFailed) << status.name;
    EXPECT_EQ(status.target_position, 0u) << status.name;
  }

  // Reopened on a good disk: each version resumes from its last exact
  // checkpoint and counts every event once.
  engine_.reset();
  store_.reset();
  disk.failing = false;
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  StartEngine(Counters({"a", "b", "counts"}), {.apply_threads = 3});
  for (const char* name : {"a", "b", "counts"}) {
    ASSERT_THAT(engine_->WaitForPosition(name, 1000, absl::Seconds(30)), IsOk())
        << name;
    EXPECT_EQ(Dump(name)["total"], "1000") << name;
  }
}

TEST_F(ProjectionEngineTest, RejectsBadProjectionsAndUnknownNames) {
  std::vector<std::unique_ptr<Projection>> two;
  two.push_back(std::make_unique<CountingProjection>(1));
  two.push_back(std::make_unique<CountingProjection>(2));
  EXPECT_THAT(ProjectionEngine::Start(*store_, std::move(two)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("two projections")));
  std::vector<std::unique_ptr<Projection>> zero;
  zero.push_back(std::make_unique<CountingProjection>(0));
  EXPECT_THAT(ProjectionEngine::Start(*store_, std::move(zero)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  StartEngine(std::make_unique<CountingProjection>(1));
  EXPECT_THAT(engine_->View("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(engine_->WaitForPosition("nope", 1, absl::Milliseconds(1)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(engine_->WaitForPosition("counts", 99, absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

}  // namespace
}  // namespace crm::projection
