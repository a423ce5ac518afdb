// Tests of EventStore::SubscribeToAll and Subscription: catching up and then
// following live appends exactly once, starting positions, timeouts,
// cancellation and bounded batches.
#include "crm/eventstore/subscription.h"

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"
#include "crm/eventstore/expected_version.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store_test_util.h"

namespace crm::eventstore {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using test_util::ReadWholeLog;
using ::testing::IsEmpty;

constexpr char kEventType[] = "crm.test.v1.SubscriptionTested";

std::vector<Envelope> MakeEvents(absl::string_view tag, size_t count) {
  std::vector<Envelope> events;
  for (size_t i = 0; i < count; ++i) {
    Envelope event;
    event.set_type(kEventType);
    event.set_payload(absl::StrCat(tag, "|", i, "|", count));
    events.push_back(std::move(event));
  }
  return events;
}

class SubscriptionTest : public test_util::StoreTest {
 protected:
  SubscriptionTest() : StoreTest("eventstore_subscription") {}

  // Appends `appends` appends of `events_per_append` events to a few streams.
  void AppendMany(absl::string_view tag, int appends,
                  size_t events_per_append) {
    for (int a = 0; a < appends; ++a) {
      ASSERT_THAT(
          store_->Append(
              absl::StrCat(tag, "-", a % 5), ExpectedVersion::Any(),
              MakeEvents(absl::StrCat(tag, "-a", a), events_per_append)),
          IsOk());
    }
  }

  // Calls Next() until the subscription has delivered every event up to
  // `last_position`, checking that the events come in order with no gap and
  // no duplicate and that no batch holds more than `max_batch` events.
  // Appends the events delivered to `delivered`.
  void DrainUpTo(Subscription& subscription, uint64_t last_position,
                 size_t max_batch, std::vector<Envelope>* delivered) {
    uint64_t expected = subscription.next_position();
    for (int call = 0; call < 10'000 && expected <= last_position; ++call) {
      ASSERT_OK_AND_ASSIGN(std::vector<Envelope> batch,
                           subscription.Next(absl::Seconds(5)));
      ASSERT_THAT(batch, ::testing::Not(IsEmpty()))
          << "Next() returned nothing while events from " << expected << " to "
          << last_position << " were committed";
      ASSERT_LE(batch.size(), max_batch);
      for (Envelope& event : batch) {
        ASSERT_EQ(event.global_position(), expected);
        ++expected;
        delivered->push_back(std::move(event));
      }
      ASSERT_EQ(subscription.next_position(), expected);
    }
    ASSERT_EQ(expected, last_position + 1);
  }

  // Catch-up and live switch-over under concurrent appends: the log holds
  // some events, a subscription starts at position 1, and `writers` threads
  // keep appending while it reads. Every few appends a writer waits (bounded)
  // until the subscriber has delivered its latest event, so the subscriber
  // repeatedly catches up and goes live while the others still write.
  void FollowConcurrentAppends(int writers, int appends_per_writer) {
    constexpr size_t kMaxBatch = 64;
    ASSERT_NO_FATAL_FAILURE(AppendMany("before", 40, 4));
    ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<Subscription> subscription,
        store_->SubscribeToAll(1, {.max_batch_events = kMaxBatch}));
    EXPECT_EQ(subscription->next_position(), 1u);

    absl::Mutex mu;
    uint64_t delivered_up_to = 0;  // Guarded by mu.
    bool stop = false;             // Guarded by mu.
    std::atomic<int> writers_running{writers};
    std::atomic<uint64_t> acknowledged_events{store_->LastPosition()};
    std::vector<Envelope> delivered;
    {
      std::vector<std::jthread> threads;
      // Runs before the threads are joined, also on an early ASSERT return,
      // so that no writer waits for a subscriber that has stopped.
      absl::Cleanup stop_writers = [&] {
        absl::MutexLock lock(&mu);
        stop = true;
      };
      for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
          absl::Cleanup done = [&] { writers_running.fetch_sub(1); };
          for (int a = 0; a < appends_per_writer; ++a) {
            absl::StatusOr<AppendResult> result = store_->Append(
                absl::StrCat("live-", w, "-", a % 3), ExpectedVersion::Any(),
                MakeEvents(absl::StrCat("live-w", w, "-a", a),
                           1 + (w + a) % 4));
            if (!result.ok()) {
              ADD_FAILURE() << "writer " << w << ": " << result.status();
              return;
            }
            acknowledged_events.fetch_add(result->last_position -
                                          result->first_position + 1);
            if (a % 10 == 9) {
              const uint64_t position = result->last_position;
              auto caught_up = [&] {
                mu.AssertReaderHeld();
                return stop || delivered_up_to >= position;
              };
              absl::MutexLock lock(&mu);
              // A timeout is no failure here: the subscriber's own checks
              // report what went wrong.
              mu.AwaitWithTimeout(absl::Condition(&caught_up),
                                  absl::Seconds(10));
            }
          }
        });
      }

      uint64_t expected = 1;
      // Next() calls made while caught up, which had to wait for a commit.
      int live_waits = 0;
      const absl::Time deadline = absl::Now() + absl::Seconds(120);
      while (true) {
        // Read the writers' state before the last position, so that the
        // final pass sees every event.
        const bool writers_done = writers_running.load() == 0;
        const uint64_t last_position = store_->LastPosition();
        if (writers_done && expected > last_position) break;
        ASSERT_LT(absl::Now(), deadline)
            << "the subscriber is stuck at position " << expected
            << "; the log ends at " << last_position;
        if (expected > last_position) ++live_waits;
        ASSERT_OK_AND_ASSIGN(std::vector<Envelope> batch,
                             subscription->Next(absl::Milliseconds(50)));
        ASSERT_LE(batch.size(), kMaxBatch);
        for (Envelope& event : batch) {
          ASSERT_EQ(event.global_position(), expected)
              << "events must come in order, with no gap or duplicate";
          ++expected;
          delivered.push_back(std::move(event));
        }
        ASSERT_EQ(subscription->next_position(), expected);
        absl::MutexLock lock(&mu);
        delivered_up_to = expected - 1;
      }
      RecordProperty("live_waits", live_waits);
    }
    if (HasFailure()) return;

    // Exactly the log, event for event.
    ASSERT_OK_AND_ASSIGN(std::vector<Envelope> log, ReadWholeLog(*store_, 101));
    ASSERT_EQ(delivered.size(), log.size());
    for (size_t i = 0; i < log.size(); ++i) {
      EXPECT_EQ(delivered[i].event_id(), log[i].event_id());
      EXPECT_EQ(delivered[i].payload(), log[i].payload());
    }
    EXPECT_EQ(log.size(), acknowledged_events.load());

    // Caught up on an idle log: nothing more.
    EXPECT_THAT(subscription->Next(absl::Milliseconds(10)),
                ::crm::testing::IsOkAndHolds(IsEmpty()));
  }
};

TEST_F(SubscriptionTest, CatchesUpThenFollowsLiveAppendsExactlyOnce) {
  // Unsynced: this test is about delivery order, not durability, and
  // without an fsync per group the writers commit many more appends while
  // the subscriber switches between catching up and following live.
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  FollowConcurrentAppends(/*writers=*/3, /*appends_per_writer=*/150);
}

TEST_F(SubscriptionTest, FollowsSyncedConcurrentAppendsExactlyOnce) {
  // Synced, as in production: commits are slower and grouped, so the
  // subscriber waits for commits far more often.
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/true));
  FollowConcurrentAppends(/*writers=*/4, /*appends_per_writer=*/30);
}

TEST_F(SubscriptionTest, StartsExactlyAtTheRequestedPosition) {
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  ASSERT_NO_FATAL_FAILURE(AppendMany("history", 10, 5));
  ASSERT_EQ(store_->LastPosition(), 50u);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Subscription> middle,
                       store_->SubscribeToAll(23));
  EXPECT_EQ(middle->next_position(), 23u);
  std::vector<Envelope> delivered;
  ASSERT_NO_FATAL_FAILURE(DrainUpTo(*middle, 50, 512, &delivered));
  ASSERT_EQ(delivered.size(), 28u);
  EXPECT_EQ(delivered.front().global_position(), 23u);
  ASSERT_OK_AND_ASSIGN(AllSlice slice, store_->ReadAll(23, 1));
  ASSERT_EQ(slice.events.size(), 1u);
  EXPECT_EQ(delivered.front().event_id(), slice.events[0].event_id());

  // Once caught up it follows new appends from there.
  ASSERT_THAT(store_->Append("history-new", ExpectedVersion::NoStream(),
                             MakeEvents("new", 3)),
              IsOk());
  ASSERT_NO_FATAL_FAILURE(DrainUpTo(*middle, 53, 512, &delivered));
  EXPECT_EQ(delivered.back().stream(), "history-new");

  // 0 and 1 both mean the beginning.
  for (uint64_t from : {0u, 1u}) {
    SCOPED_TRACE(absl::StrCat("from ", from));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Subscription> beginning,
                         store_->SubscribeToAll(from));
    std::vector<Envelope> all;
    ASSERT_NO_FATAL_FAILURE(DrainUpTo(*beginning, 53, 512, &all));
    EXPECT_EQ(all.front().global_position(), 1u);
  }

  // From one past the end: nothing until the next append, then exactly it.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Subscription> tail,
                       store_->SubscribeToAll(54));
  EXPECT_THAT(tail->Next(absl::Milliseconds(10)),
              ::crm::testing::IsOkAndHolds(IsEmpty()));
  ASSERT_THAT(store_->Append("history-new", ExpectedVersion::Exact(3),
                             MakeEvents("newer", 1)),
              IsOk());
  std::vector<Envelope> newest;
  ASSERT_NO_FATAL_FAILURE(DrainUpTo(*tail, 54, 512, &newest));
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest[0].stream_version(), 4u);
}

TEST_F(SubscriptionTest, NextReturnsEmptyAfterTimeoutOnIdleLog) {
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Subscription> subscription,
                       store_->SubscribeToAll(1));
  EXPECT_THAT(subscription->Next(absl::Milliseconds(100)),
              ::crm::testing::IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(subscription->Next(absl::ZeroDuration()),
              ::crm::testing::IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(subscription->next_position(), 1u);

  // Caught up on a log that is not empty.
  ASSERT_NO_FATAL_FAILURE(AppendMany("idle", 1, 3));
  std::vector<Envelope> delivered;
  ASSERT_NO_FATAL_FAILURE(DrainUpTo(*subscription, 3, 512, &delivered));
  EXPECT_THAT(subscription->Next(absl::Milliseconds(100)),
              ::crm::testing::IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(subscription->next_position(), 4u);
}

TEST_F(SubscriptionTest, WaitingNextWakesWhenAnAppendCommits) {
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/true));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Subscription> subscription,
                       store_->SubscribeToAll(1));
  absl::StatusOr<std::vector<Envelope>> result =
      absl::UnknownError("Next() did not return");
  absl::Notification returned;
  {
    std::jthread subscriber([&] {
      result = subscription->Next(absl::Seconds(30));
      returned.Notify();
    });
    absl::Cleanup cancel_if_stuck = [&] { subscription->Cancel(); };
    // Nothing is committed yet, so Next() keeps waiting.
    EXPECT_FALSE(
        returned.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
    ASSERT_THAT(store_->Append("wake", ExpectedVersion::NoStream(),
                               MakeEvents("wake", 2)),
                IsOk());
    ASSERT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(10)))
        << "a commit did not wake the waiting Next()";
  }
  ASSERT_THAT(result, IsOk());
  ASSERT_THAT(*result, ::testing::Not(IsEmpty()));
  EXPECT_EQ(result->front().global_position(), 1u);
}

TEST_F(SubscriptionTest, CancelFromAnotherThreadWakesWaitingNext) {
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Subscription> subscription,
                       store_->SubscribeToAll(1));
  absl::StatusOr<std::vector<Envelope>> result =
      absl::UnknownError("Next() did not return");
  absl::Notification returned;
  {
    std::jthread subscriber([&] {
      result = subscription->Next(absl::Seconds(30));
      returned.Notify();
    });
    // Nothing is committed, so Next() keeps waiting (and this gives it the
    // time to start waiting before the Cancel()).
    EXPECT_FALSE(
        returned.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
    subscription->Cancel();
    ASSERT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(10)))
        << "Cancel() did not wake the waiting Next()";
  }
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled));

  // Every later Next() is cancelled too, also with events to deliver, and
  // Cancel() is idempotent.
  EXPECT_THAT(subscription->Next(absl::ZeroDuration()),
              StatusIs(absl::StatusCode::kCancelled));
  ASSERT_NO_FATAL_FAILURE(AppendMany("after-cancel", 1, 2));
  EXPECT_THAT(subscription->Next(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kCancelled));
  subscription->Cancel();
  EXPECT_THAT(subscription->Next(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(SubscriptionTest, CancelBeforeNextStopsDeliveryOfCommittedEvents) {
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  ASSERT_NO_FATAL_FAILURE(AppendMany("pending", 2, 3));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Subscription> subscription,
                       store_->SubscribeToAll(1));
  subscription->Cancel();
  EXPECT_THAT(subscription->Next(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(SubscriptionTest, BatchesNeverExceedMaxBatchEvents) {
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  ASSERT_NO_FATAL_FAILURE(AppendMany("batch", 12, 7));
  // One append larger than a batch: it must be split across batches.
  ASSERT_THAT(store_->Append("batch-large", ExpectedVersion::NoStream(),
                             MakeEvents("large", 25)),
              IsOk());
  const uint64_t last_position = store_->LastPosition();
  ASSERT_EQ(last_position, 109u);
  ASSERT_OK_AND_ASSIGN(std::vector<Envelope> log, ReadWholeLog(*store_, 101));

  for (size_t max_batch : {size_t{1}, size_t{10}, size_t{512}}) {
    SCOPED_TRACE(absl::StrCat("max_batch_events ", max_batch));
    ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<Subscription> subscription,
        store_->SubscribeToAll(1, {.max_batch_events = max_batch}));
    std::vector<Envelope> delivered;
    ASSERT_NO_FATAL_FAILURE(
        DrainUpTo(*subscription, last_position, max_batch, &delivered));
    ASSERT_EQ(delivered.size(), log.size());
    for (size_t i = 0; i < log.size(); ++i) {
      EXPECT_EQ(delivered[i].event_id(), log[i].event_id());
    }
  }
}

TEST_F(SubscriptionTest, NextIntoReusesTheBatchAndReplacesItsEvents) {
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  ASSERT_NO_FATAL_FAILURE(AppendMany("into", 1, 5));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Subscription> subscription,
                       store_->SubscribeToAll(1, {.max_batch_events = 3}));
  std::vector<Envelope> batch;
  ASSERT_THAT(subscription->NextInto(absl::ZeroDuration(), batch), IsOk());
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[2].global_position(), 3u);
  // A shorter batch replaces every event of the longer one.
  ASSERT_THAT(subscription->NextInto(absl::ZeroDuration(), batch), IsOk());
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].global_position(), 4u);
  EXPECT_EQ(batch[1].global_position(), 5u);
  ASSERT_THAT(subscription->NextInto(absl::Milliseconds(10), batch), IsOk());
  EXPECT_THAT(batch, IsEmpty());
  subscription->Cancel();
  batch.resize(2);
  EXPECT_THAT(subscription->NextInto(absl::ZeroDuration(), batch),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(batch, IsEmpty());
}

TEST_F(SubscriptionTest, RejectsZeroMaxBatchEvents) {
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  EXPECT_THAT(store_->SubscribeToAll(1, {.max_batch_events = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace crm::eventstore
