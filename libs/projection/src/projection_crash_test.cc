// Exactly-once under kill -9: a child process runs the projection engine
// while it appends; the test kills it with SIGKILL at random moments, ten
// times, then lets the projection catch up and checks that every event of
// the log was applied exactly once and that the state equals a rebuild from
// the whole log. A second test kills the child while it rebuilds a new
// version beside a serving one, staging several reads per commit; a third
// while three projections commit large reads in parallel. The child
// is its own binary (projection_crash_child.cc),
// started with fork + exec: a plain fork would inherit RocksDB's thread
// pools as memory only and could deadlock.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "counting_projection.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/projection.h"
#include "crm/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "store_test_util.h"

#ifndef CRM_PROJECTION_CRASH_CHILD
#error "CRM_PROJECTION_CRASH_CHILD must name the child binary (CMake sets it)"
#endif

namespace crm::projection {
namespace {

using test_util::CountingProjection;

constexpr int kRounds = 10;

class ProjectionCrashTest : public eventstore::test_util::StoreTest {
 protected:
  ProjectionCrashTest() : StoreTest("projection_crash") {}

  // Runs the child for `run_ms`, then kills it and reaps it. With
  // `after_start`, run_ms counts from when the child's engine has started
  // (at most 60 s later). `version` and `build_batch_bytes` are passed on
  // when version is not 0, and with them `batch_events` and `projections`
  // when projections is not 0.
  void RunAndKillChild(int run_ms, uint32_t version = 0,
                       size_t build_batch_bytes = 0, bool after_start = false,
                       size_t batch_events = 0, int projections = 0) {
    std::string path = StorePath();
    std::string binary = CRM_PROJECTION_CRASH_CHILD;
    std::string version_arg = absl::StrCat(version);
    std::string bytes_arg = absl::StrCat(build_batch_bytes);
    std::string batch_arg = absl::StrCat(batch_events);
    std::string projections_arg = absl::StrCat(projections);
    char* argv[] = {binary.data(),
                    path.data(),
                    version == 0 ? nullptr : version_arg.data(),
                    bytes_arg.data(),
                    projections == 0 ? nullptr : batch_arg.data(),
                    projections_arg.data(),
                    nullptr};
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      execv(binary.c_str(), argv);
      _exit(127);
    }
    close(out[1]);
    bool started = false;
    if (after_start) {
      pollfd ready = {.fd = out[0], .events = POLLIN, .revents = 0};
      char byte = 0;
      started = poll(&ready, 1, 60'000) == 1 && read(out[0], &byte, 1) == 1;
    }
    absl::SleepFor(absl::Milliseconds(run_ms));  // The random kill moment.
    kill(pid, SIGKILL);
    close(out[0]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended by itself (status " << status
        << "); see its stderr above";
    if (after_start) {
      ASSERT_TRUE(started) << "the child did not start";
    }
  }

  // Appends `count` events to the open store, 10 per append, round robin
  // over `streams` streams ("s0" ...).
  void Seed(int count, int streams) {
    for (int append = 0; append < count / 10; ++append) {
      std::vector<Envelope> events(10);
      for (Envelope& event : events) {
        event.set_type("test.Happened");
        event.set_payload(absl::StrCat("seed-", append));
      }
      ASSERT_THAT(store_->Append(absl::StrCat("s", append % streams),
                                 eventstore::ExpectedVersion::Any(), events),
                  ::crm::testing::IsOk());
    }
  }

  // A catalog entry, read without running the engine ("" when missing).
  std::string CatalogValue(const std::string& key) {
    auto catalog = store_->ColumnFamily("projection_catalog");
    std::string value;
    if (!catalog.ok() ||
        !store_->db().Get(rocksdb::ReadOptions(), *catalog, key, &value).ok()) {
      return "";
    }
    return value;
  }

  // The checkpoint of `name` `version` (the local log's: a position).
  uint64_t Checkpoint(uint32_t version = 1, std::string_view name = "counts") {
    const std::string value = CatalogValue(
        absl::StrCat("checkpoint/", std::string(name), "/", version));
    if (value.size() != 8) return 0;
    uint64_t position = 0;
    for (char c : value) position = (position << 8) | static_cast<uint8_t>(c);
    return position;
  }

  // Checks the state of `name` against the log: the total, and each of
  // `streams` streams ("s0" ...) counted exactly once per event.
  void ExpectCountsMatchTheLog(const ProjectionEngine& engine, int streams,
                               std::string_view name = "counts") {
    SCOPED_TRACE(name);
    const std::map<std::string, std::string> state = Dump(engine, name);
    EXPECT_EQ(state.at("total"), absl::StrCat(store_->LastPosition()));
    for (int s = 0; s < streams; ++s) {
      const std::string stream = absl::StrCat("s", s);
      ASSERT_OK_AND_ASSIGN(eventstore::StreamInfo info,
                           store_->GetStreamInfo(stream));
      ASSERT_TRUE(state.contains("count/" + stream)) << stream;
      EXPECT_EQ(state.at("count/" + stream), absl::StrCat(info.last_version))
          << stream;
    }
  }

  std::map<std::string, std::string> Dump(const ProjectionEngine& engine,
                                          std::string_view name = "counts") {
    std::map<std::string, std::string> entries;
    auto view = engine.View(name);
    EXPECT_THAT(view, ::crm::testing::IsOk());
    if (!view.ok()) return entries;
    std::string after;
    for (int page = 0; page < 10'000; ++page) {
      auto scanned = (*view)->Scan("", after, 1000);
      if (!scanned.ok() || scanned->empty()) break;
      for (auto& [key, value] : *scanned) entries[key] = value;
      after = scanned->back().first;
    }
    return entries;
  }
};

TEST_F(ProjectionCrashTest, KilledRunnerLeavesEveryEventAppliedExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  for (int i = 0; i < 3000; ++i) {
    Envelope event;
    event.set_type("test.Happened");
    event.set_payload(absl::StrCat("seed-", i));
    ASSERT_THAT(store_->Append(absl::StrCat("s", i % 13),
                               eventstore::ExpectedVersion::Any(), {event}),
                ::crm::testing::IsOk());
  }
  store_.reset();

  std::mt19937 random(std::random_device{}());
  // From the fork: some kills land before the engine runs (the child takes
  // a few hundred ms to start under the sanitizers), most while it works.
  std::uniform_int_distribution<int> run_ms(150, 1000);
  int killed_mid_work = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    ASSERT_NO_FATAL_FAILURE(RunAndKillChild(run_ms(random)));
    ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
    const uint64_t checkpoint = Checkpoint();
    if (checkpoint > 0 && checkpoint < store_->LastPosition()) {
      ++killed_mid_work;
    }
    store_.reset();
  }
  // The kills must have caught the projection with work left to do.
  EXPECT_GT(killed_mid_work, 0);

  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  const uint64_t last = store_->LastPosition();
  std::vector<std::unique_ptr<Projection>> live;
  live.push_back(std::make_unique<CountingProjection>(1));
  ASSERT_OK_AND_ASSIGN(auto engine,
                       ProjectionEngine::Start(*store_, std::move(live)));
  ASSERT_THAT(engine->WaitForPosition("counts", last, absl::Seconds(60)),
              ::crm::testing::IsOk());
  const std::map<std::string, std::string> incremental = Dump(*engine);
  EXPECT_EQ(incremental.at("total"), absl::StrCat(last));
  for (int s = 0; s < 13; ++s) {
    const std::string stream = absl::StrCat("s", s);
    ASSERT_OK_AND_ASSIGN(eventstore::StreamInfo info,
                         store_->GetStreamInfo(stream));
    EXPECT_EQ(incremental.at("count/" + stream),
              absl::StrCat(info.last_version))
        << stream;
  }

  // A rebuild from the whole log gives the same state.
  engine.reset();
  std::vector<std::unique_ptr<Projection>> rebuilt;
  rebuilt.push_back(std::make_unique<CountingProjection>(2));
  ASSERT_OK_AND_ASSIGN(engine,
                       ProjectionEngine::Start(*store_, std::move(rebuilt)));
  for (int i = 0; i < 3000 && engine->Status().at(0).serving_version != 2;
       ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(engine->Status().at(0).serving_version, 2u);
  EXPECT_EQ(Dump(*engine), incremental);
}

TEST_F(ProjectionCrashTest, KilledRebuildResumesAndSwapsOnlyWhenComplete) {
  // Many streams, so that the rebuild's staged writes grow and it commits
  // every few reads rather than once at the end.
  constexpr int kSeed = 40'000;
  constexpr int kStreams = 2000;
  constexpr size_t kBuildBatchBytes = 32 << 10;
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  ASSERT_NO_FATAL_FAILURE(Seed(kSeed, kStreams));
  {
    std::vector<std::unique_ptr<Projection>> version1;
    version1.push_back(std::make_unique<CountingProjection>(1));
    ASSERT_OK_AND_ASSIGN(auto engine,
                         ProjectionEngine::Start(*store_, std::move(version1)));
    ASSERT_THAT(engine->WaitForPosition("counts", kSeed, absl::Seconds(120)),
                ::crm::testing::IsOk());
  }
  // Reopening replays the log's WAL into table files once, here, rather
  // than in each child (which would be killed before it opened).
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  store_.reset();

  // The child rebuilds version 2 beside version 1 and appends meanwhile.
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> run_ms(50, 500);
  int killed_mid_rebuild = 0;
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    ASSERT_NO_FATAL_FAILURE(RunAndKillChild(run_ms(random), /*version=*/2,
                                            kBuildBatchBytes,
                                            /*after_start=*/true));
    ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
    const std::string serving = CatalogValue("serving/counts");
    const uint64_t checkpoint = Checkpoint(2);
    if (serving == "1" && checkpoint > 0) ++killed_mid_rebuild;
    // Version 2 serves only once it has read the whole log of its start.
    if (serving == "2") {
      EXPECT_GE(checkpoint, static_cast<uint64_t>(kSeed));
    }
    store_.reset();
  }
  EXPECT_GT(killed_mid_rebuild, 0);

  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  std::vector<std::unique_ptr<Projection>> version2;
  version2.push_back(std::make_unique<CountingProjection>(2));
  ASSERT_OK_AND_ASSIGN(auto engine,
                       ProjectionEngine::Start(*store_, std::move(version2)));
  for (int i = 0; i < 12'000 && engine->Status().at(0).serving_version != 2;
       ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(engine->Status().at(0).serving_version, 2u);
  ASSERT_THAT(engine->WaitForPosition("counts", store_->LastPosition(),
                                      absl::Seconds(60)),
              ::crm::testing::IsOk());
  ExpectCountsMatchTheLog(*engine, kStreams);
}

TEST_F(ProjectionCrashTest, KilledParallelCommitsLeaveEachProjectionExact) {
  // Three projections share a runner; reads of 512 events are applied on
  // several threads and committed as one batch per projection, written in
  // parallel (the build commits every read): a kill can land between those
  // writes, leaving the three at different checkpoints. Each must still
  // count every event exactly once, and the next start joins them again.
  constexpr int kSeed = 20'000;
  constexpr int kStreams = 200;
  const std::vector<std::string> names = {"counts", "counts_b", "counts_c"};
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  ASSERT_NO_FATAL_FAILURE(Seed(kSeed, kStreams));
  // Reopening replays the WAL into table files once, here.
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  store_.reset();

  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> run_ms(20, 400);
  int killed_mid_work = 0;
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    ASSERT_NO_FATAL_FAILURE(RunAndKillChild(
        run_ms(random), /*version=*/1, /*build_batch_bytes=*/1,
        /*after_start=*/true, /*batch_events=*/512, /*projections=*/3));
    ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
    for (const std::string& name : names) {
      const uint64_t checkpoint = Checkpoint(1, name);
      if (checkpoint > 0 && checkpoint < store_->LastPosition()) {
        ++killed_mid_work;
        break;
      }
    }
    store_.reset();
  }
  EXPECT_GT(killed_mid_work, 0);

  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  std::vector<std::unique_ptr<Projection>> projections;
  for (const std::string& name : names) {
    projections.push_back(
        std::make_unique<CountingProjection>(1, nullptr, "", name));
  }
  ASSERT_OK_AND_ASSIGN(
      auto engine, ProjectionEngine::Start(*store_, std::move(projections)));
  for (const std::string& name : names) {
    ASSERT_THAT(engine->WaitForPosition(name, store_->LastPosition(),
                                        absl::Seconds(120)),
                ::crm::testing::IsOk());
    ExpectCountsMatchTheLog(*engine, kStreams, name);
  }
}

}  // namespace
}  // namespace crm::projection
