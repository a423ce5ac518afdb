// Exactly-once under kill -9: a child process runs the projection engine
// while it appends; the test kills it with SIGKILL at random moments, ten
// times, then lets the projection catch up and checks that every event of
// the log was applied exactly once and that the state equals a rebuild from
// the whole log. The child is its own binary (projection_crash_child.cc),
// started with fork + exec: a plain fork would inherit RocksDB's thread
// pools as memory only and could deadlock.
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

  // Runs the child for `run_ms`, then kills it and reaps it.
  void RunAndKillChild(int run_ms) {
    std::string path = StorePath();
    std::string binary = CRM_PROJECTION_CRASH_CHILD;
    char* argv[] = {binary.data(), path.data(), nullptr};
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      execv(binary.c_str(), argv);
      _exit(127);
    }
    absl::SleepFor(absl::Milliseconds(run_ms));  // The random kill moment.
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended by itself (status " << status
        << "); see its stderr above";
  }

  // The checkpoint of counts v1, read without running the engine.
  uint64_t Checkpoint() {
    auto catalog = store_->ColumnFamily("projection_catalog");
    if (!catalog.ok()) return 0;
    std::string value;
    if (!store_->db()
             .Get(rocksdb::ReadOptions(), *catalog, "checkpoint/counts/1",
                  &value)
             .ok() ||
        value.size() != 8) {
      return 0;
    }
    uint64_t position = 0;
    for (char c : value) position = (position << 8) | static_cast<uint8_t>(c);
    return position;
  }

  std::map<std::string, std::string> Dump(const ProjectionEngine& engine) {
    std::map<std::string, std::string> entries;
    auto view = engine.View("counts");
    EXPECT_THAT(view, ::crm::testing::IsOk());
    if (!view.ok()) return entries;
    std::string after;
    for (int page = 0; page < 10'000; ++page) {
      auto scanned = (*view)->Scan("", after, 500);
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
  std::uniform_int_distribution<int> run_ms(150, 500);
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

}  // namespace
}  // namespace crm::projection
