#include "crm/server/handler_pool.h"

#include <atomic>
#include <memory>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::server {
namespace {

using ::crm::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::Duration kPatience = absl::Seconds(30);

TEST(HandlerPoolTest, RunsAsManyBodiesAtOnceAsItHasThreads) {
  constexpr int kThreads = 4;
  HandlerPool pool(kThreads);
  // Each body waits until all four have started: this finishes only when
  // four run at the same time.
  std::atomic<int> started{0};
  absl::Notification all_started;
  std::vector<std::unique_ptr<absl::Notification>> done;
  for (int i = 0; i < kThreads; ++i) {
    done.push_back(std::make_unique<absl::Notification>());
    absl::Notification* finished = done.back().get();
    ASSERT_TRUE(pool.Post([&started, &all_started, finished] {
      if (started.fetch_add(1) + 1 == kThreads) all_started.Notify();
      if (all_started.WaitForNotificationWithTimeout(kPatience)) {
        finished->Notify();
      }
    }));
  }
  for (const auto& finished : done) {
    EXPECT_TRUE(finished->WaitForNotificationWithTimeout(kPatience));
  }
  EXPECT_EQ(started.load(), kThreads);
}

TEST(HandlerPoolTest, RefusesWorkWhenEveryThreadIsBusyAndTheQueueIsFull) {
  HandlerPool pool(/*threads=*/1, /*max_queued=*/2);
  absl::Notification release;
  absl::Notification running;
  ASSERT_TRUE(pool.Post([&] {
    running.Notify();
    release.WaitForNotificationWithTimeout(kPatience);
  }));
  ASSERT_TRUE(running.WaitForNotificationWithTimeout(kPatience));
  std::atomic<int> ran{0};
  EXPECT_TRUE(pool.Post([&] { ++ran; }));
  EXPECT_TRUE(pool.Post([&] { ++ran; }));
  bool refused_ran = false;
  EXPECT_FALSE(pool.Post([&] { refused_ran = true; }));

  HandlerPool::Stats stats = pool.stats();
  EXPECT_EQ(stats.threads, 1u);
  EXPECT_EQ(stats.busy, 1u);
  EXPECT_EQ(stats.queued, 2u);
  EXPECT_EQ(stats.refused, 1u);

  release.Notify();
  for (int i = 0; i < 3000 && pool.stats().run < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  stats = pool.stats();
  EXPECT_EQ(stats.run, 3u);
  EXPECT_EQ(stats.busy, 0u);
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(ran.load(), 2);
  EXPECT_FALSE(refused_ran);
  // Room again once the queue drained.
  EXPECT_TRUE(pool.Post([] {}));
}

TEST(HandlerPoolTest, BusyStatusTellsTheClientToBackOff) {
  EXPECT_THAT(HandlerPool::BusyStatus(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("retry with backoff")));
  EXPECT_THAT(HandlerPool::BusyStatus(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("--handler-threads")));
}

TEST(HandlerPoolTest, DestructionRunsEveryQueuedBodyFirst) {
  std::atomic<int> ran{0};
  {
    HandlerPool pool(/*threads=*/1, /*max_queued=*/100);
    absl::Notification release;
    ASSERT_TRUE(
        pool.Post([&] { release.WaitForNotificationWithTimeout(kPatience); }));
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(pool.Post([&] { ++ran; }));
    release.Notify();
  }  // Joins here, after the 50 queued bodies.
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace crm::server
