// The event store when the disk fails under it: a failing write appends
// nothing, the store then refuses writes (RocksDB may have stopped and the
// positions in memory may be ahead of the disk) until it is reopened, and
// the reopened store holds exactly the acknowledged appends.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "crm/eventstore/event_store.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store_test_util.h"

namespace crm::eventstore {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;

Envelope Event(const std::string& payload) {
  Envelope event;
  event.set_type("test.Happened");
  event.set_payload(payload);
  return event;
}

class EventStoreDiskFailureTest : public test_util::StoreTest {
 protected:
  EventStoreDiskFailureTest() : StoreTest("eventstore_disk_failure") {}

  absl::StatusOr<std::unique_ptr<EventStore>> Open(rocksdb::Env* env) {
    EventStore::Options options;
    options.path = StorePath();
    options.env = env;
    return EventStore::Open(std::move(options));
  }

  test_util::FailingWalEnv env_;
};

TEST_F(EventStoreDiskFailureTest,
       FailedWriteAppendsNothingAndStoreRefusesUntilReopened) {
  ASSERT_OK_AND_ASSIGN(store_, Open(&env_));
  ASSERT_THAT(store_->Append("s", ExpectedVersion::NoStream(), {Event("a")}),
              IsOk());

  env_.failing = true;
  EXPECT_THAT(store_->Append("s", ExpectedVersion::Exact(1), {Event("lost")}),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(store_->LastPosition(), 1u);

  // The disk is back, but the store stays refusing: reopening is the way
  // to recover a consistent state.
  env_.failing = false;
  EXPECT_THAT(store_->Append("s", ExpectedVersion::Exact(1), {Event("b")}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("reopen")));
  ASSERT_OK_AND_ASSIGN(AllSlice before, store_->ReadAll(1, 10));
  EXPECT_EQ(before.events.size(), 1u);
  store_.reset();

  ASSERT_OK_AND_ASSIGN(store_, Open(nullptr));
  ASSERT_OK_AND_ASSIGN(std::vector<Envelope> log,
                       test_util::ReadWholeLog(*store_));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].payload(), "a");
  ASSERT_OK_AND_ASSIGN(
      AppendResult next,
      store_->Append("s", ExpectedVersion::Exact(1), {Event("b")}));
  EXPECT_EQ(next.first_position, 2u);
  EXPECT_EQ(next.streams[0].first_version, 2u);
}

}  // namespace
}  // namespace crm::eventstore
