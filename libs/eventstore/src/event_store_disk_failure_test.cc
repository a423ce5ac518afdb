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
#include "rocksdb/env.h"
#include "store_test_util.h"

namespace crm::eventstore {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;

// A write-ahead-log file whose appends fail while `failing` is set, before
// anything reaches the file, so no partial record is written.
class FailingWalFile final : public rocksdb::WritableFile {
 public:
  FailingWalFile(std::unique_ptr<rocksdb::WritableFile> file,
                 const std::atomic<bool>& failing)
      : file_(std::move(file)), failing_(failing) {}

  rocksdb::Status Append(const rocksdb::Slice& data) override {
    if (failing_) return rocksdb::Status::IOError("injected: disk failed");
    return file_->Append(data);
  }
  rocksdb::Status Close() override { return file_->Close(); }
  rocksdb::Status Flush() override { return file_->Flush(); }
  rocksdb::Status Sync() override {
    if (failing_) return rocksdb::Status::IOError("injected: disk failed");
    return file_->Sync();
  }
  rocksdb::Status Fsync() override { return Sync(); }
  uint64_t GetFileSize() override { return file_->GetFileSize(); }

 private:
  std::unique_ptr<rocksdb::WritableFile> file_;
  const std::atomic<bool>& failing_;
};

// The default environment, with WAL files that fail on demand.
class FailingWalEnv final : public rocksdb::EnvWrapper {
 public:
  FailingWalEnv() : EnvWrapper(rocksdb::Env::Default()) {}
  const char* Name() const override { return "FailingWalEnv"; }

  rocksdb::Status NewWritableFile(const std::string& name,
                                  std::unique_ptr<rocksdb::WritableFile>* file,
                                  const rocksdb::EnvOptions& options) override {
    rocksdb::Status status = target()->NewWritableFile(name, file, options);
    if (status.ok() && name.size() > 4 &&
        name.compare(name.size() - 4, 4, ".log") == 0) {
      *file = std::make_unique<FailingWalFile>(std::move(*file), failing);
    }
    return status;
  }

  std::atomic<bool> failing{false};
};

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

  FailingWalEnv env_;
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
