#include "contact_closed_loop.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "contact_people.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::bench {
namespace {

using ::crm::testing::StatusIs;
using ::testing::HasSubstr;

// A stand-in for gRPC: calls are queued and finished by one worker thread
// (never inside the call that started them), with the status `outcome`
// gives. Records which calls were started and how many were out at once.
class FakeServer {
 public:
  explicit FakeServer(std::function<grpc::Status(uint64_t seq)> outcome)
      : outcome_(std::move(outcome)), worker_([this] { Work(); }) {}

  ~FakeServer() {
    {
      absl::MutexLock lock(&mutex_);
      stopping_ = true;
    }
    worker_.join();
  }

  // Keep calls until Release() instead of finishing them.
  void Hold() {
    absl::MutexLock lock(&mutex_);
    holding_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mutex_);
    holding_ = false;
  }

  StartCall Starter() {
    return [this](size_t, uint64_t seq, CallDone done) {
      absl::MutexLock lock(&mutex_);
      started_.push_back(seq);
      ++outstanding_;
      max_outstanding_ = std::max(max_outstanding_, outstanding_);
      queue_.emplace_back(seq, std::move(done));
    };
  }

  std::vector<uint64_t> started() const {
    absl::MutexLock lock(&mutex_);
    return started_;
  }
  size_t max_outstanding() const {
    absl::MutexLock lock(&mutex_);
    return max_outstanding_;
  }

 private:
  void Work() {
    while (true) {
      std::pair<uint64_t, CallDone> call;
      {
        absl::MutexLock lock(&mutex_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
          return stopping_ || (!holding_ && !queue_.empty());
        };
        mutex_.Await(absl::Condition(&ready));
        if (queue_.empty() || holding_) return;  // Stopping.
        call = std::move(queue_.front());
        queue_.pop_front();
        --outstanding_;
      }
      call.second(outcome_(call.first));
    }
  }

  std::function<grpc::Status(uint64_t)> outcome_;
  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool holding_ ABSL_GUARDED_BY(mutex_) = false;
  std::deque<std::pair<uint64_t, CallDone>> queue_ ABSL_GUARDED_BY(mutex_);
  std::vector<uint64_t> started_ ABSL_GUARDED_BY(mutex_);
  size_t outstanding_ ABSL_GUARDED_BY(mutex_) = 0;
  size_t max_outstanding_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread worker_;
};

grpc::Status AlwaysOk(uint64_t) { return grpc::Status::OK; }

class ContactClosedLoopTest : public ::testing::Test {};

TEST_F(ContactClosedLoopTest, RunsEachCallOnceWithInFlightCallsOutstanding) {
  FakeServer server(AlwaysOk);
  // Held until the first eight calls are out: a worker finishing each call
  // as it comes would otherwise never see eight at once.
  server.Hold();
  std::thread releaser([&server] {
    for (int i = 0; i < 3000 && server.started().size() < 8; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    server.Release();
  });
  absl::StatusOr<ClosedLoopRun> result = RunClosedLoop(
      {.in_flight = 8, .duration = absl::Minutes(1), .max_calls = 500},
      server.Starter());
  releaser.join();
  ASSERT_OK_AND_ASSIGN(ClosedLoopRun run, std::move(result));
  EXPECT_EQ(run.calls, 500u);
  EXPECT_EQ(run.errors, 0u);
  EXPECT_EQ(run.latency.count(), 500u);
  EXPECT_GT(run.elapsed, absl::ZeroDuration());
  const std::vector<uint64_t> started = server.started();
  EXPECT_EQ(std::set<uint64_t>(started.begin(), started.end()).size(), 500u);
  EXPECT_EQ(*std::max_element(started.begin(), started.end()), 499u);
  EXPECT_EQ(server.max_outstanding(), 8u);
}

TEST_F(ContactClosedLoopTest, CountsFailedCallsApartAndKeepsTheFirstError) {
  FakeServer server([](uint64_t seq) {
    return seq % 10 == 3
               ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "server down")
               : grpc::Status::OK;
  });
  ASSERT_OK_AND_ASSIGN(
      ClosedLoopRun run,
      RunClosedLoop(
          {.in_flight = 1, .duration = absl::Minutes(1), .max_calls = 100},
          server.Starter()));
  EXPECT_EQ(run.calls, 90u);
  EXPECT_EQ(run.errors, 10u);
  EXPECT_EQ(run.latency.count(), 90u);
  EXPECT_EQ(run.first_error, "14: server down");
}

TEST_F(ContactClosedLoopTest, StopsStartingCallsAfterTheDuration) {
  FakeServer server(AlwaysOk);
  const absl::Duration duration = absl::Milliseconds(50);
  ASSERT_OK_AND_ASSIGN(
      ClosedLoopRun run,
      RunClosedLoop({.in_flight = 4, .duration = duration}, server.Starter()));
  EXPECT_GT(run.calls, 0u);
  EXPECT_GE(run.elapsed, duration);
  EXPECT_EQ(server.started().size(), run.calls);
}

TEST_F(ContactClosedLoopTest, StopsAfterTooManyErrors) {
  FakeServer server([](uint64_t) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "broken");
  });
  ASSERT_OK_AND_ASSIGN(
      ClosedLoopRun run,
      RunClosedLoop({.in_flight = 4, .duration = absl::Minutes(1)},
                    server.Starter()));
  EXPECT_EQ(run.calls, 0u);
  // The limit stops new calls; the ones already out still count.
  EXPECT_GE(run.errors, 100u);
  EXPECT_LE(run.errors, 104u);
}

TEST_F(ContactClosedLoopTest, FailsWhenCallsDoNotFinishInTheDrainTime) {
  FakeServer server(AlwaysOk);
  server.Hold();
  EXPECT_THAT(RunClosedLoop({.in_flight = 2,
                             .duration = absl::Milliseconds(10),
                             .drain_timeout = absl::Milliseconds(50)},
                            server.Starter())
                  .status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("2 calls were still running")));
  // The held calls finish after the load gave up, harmlessly.
  server.Release();
}

class ContactPeopleTest : public ::testing::Test {};

TEST_F(ContactPeopleTest, SameIndexGivesTheSamePersonAndId) {
  const SyntheticPerson a = PersonAt(12345, "run");
  const SyntheticPerson b = PersonAt(12345, "run");
  EXPECT_EQ(a.given_name, b.given_name);
  EXPECT_EQ(a.family_name, b.family_name);
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(ContactIdAt(12345), ContactIdAt(12345));
  EXPECT_NE(ContactIdAt(12345), ContactIdAt(12346));
  EXPECT_EQ(ContactIdAt(255), "00000000-0000-4000-8000-0000000000ff");
  EXPECT_NE(PersonAt(1, "a").email, PersonAt(1, "b").email);
}

TEST_F(ContactPeopleTest, OwnersAndGivenNamesAreSpreadEvenly) {
  std::map<std::string, int> owners;
  std::map<std::string, int> given;
  for (uint64_t i = 0; i < 16 * 7 * kOwners; ++i) {
    const SyntheticPerson person = PersonAt(i, "run");
    ++owners[person.owner];
    ++given[person.given_name];
  }
  EXPECT_EQ(owners.size(), static_cast<size_t>(kOwners));
  for (const auto& [owner, count] : owners) EXPECT_EQ(count, 16 * 7) << owner;
  EXPECT_EQ(given.size(), kGivenNames.size());
  for (const auto& [name, count] : given) EXPECT_EQ(count, 7 * kOwners) << name;
}

TEST_F(ContactPeopleTest, NoGivenNameStartsLikeAFamilyName) {
  // The name-prefix list load filters by given-name prefixes and relies on
  // them matching no family name.
  for (const char* given : kGivenNames) {
    for (const char* syllable : kSyllables) {
      EXPECT_NE(std::string(given).substr(0, 1), std::string(syllable, 1))
          << given << " / " << syllable;
    }
  }
  EXPECT_EQ(PersonAt(16, "run").family_name, "Kalo");
}

}  // namespace
}  // namespace crm::bench
