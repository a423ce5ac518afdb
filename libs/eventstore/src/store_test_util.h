// Test helpers shared by the event store's tests: a scratch directory per
// test, a disk whose WAL fails on demand, and whole-log / whole-stream
// reads. Test-only.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/eventstore/event_store.h"
#include "crm/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"

namespace crm::eventstore::test_util {

// An empty directory under the test temp dir, unique to this process and
// test, removed (with everything in it) on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view prefix) {
    static std::atomic<int> counter{0};
    const std::string test_name =
        ::testing::UnitTest::GetInstance()->current_test_info() != nullptr
            ? ::testing::UnitTest::GetInstance()->current_test_info()->name()
            : "none";
    path_ =
        std::filesystem::path(::testing::TempDir()) /
        (std::string(prefix) + "_" + test_name + "_" +
         std::to_string(getpid()) + "_" + std::to_string(counter.fetch_add(1)));
    std::error_code error;
    std::filesystem::remove_all(path_, error);
    std::filesystem::create_directories(path_, error);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

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

// The default environment, with WAL files that fail on demand (EventStore
// Options::env).
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

// A fixture with a scratch directory and a store in it.
class StoreTest : public ::testing::Test {
 protected:
  explicit StoreTest(std::string_view prefix) : dir_(prefix) {}
  void TearDown() override { store_.reset(); }

  std::string StorePath() const { return (dir_.path() / "store").string(); }

  // `env`: the store's rocksdb::Env (nullptr: the default).
  void OpenStore(bool sync, rocksdb::Env* env = nullptr) {
    store_.reset();
    EventStore::Options options;
    options.path = StorePath();
    options.sync = sync;
    options.env = env;
    ASSERT_OK_AND_ASSIGN(store_, EventStore::Open(std::move(options)));
  }

  ScratchDir dir_;
  std::unique_ptr<EventStore> store_;
};

// Every event of the log, read with ReadAll in pages of `page_events`.
inline absl::StatusOr<std::vector<Envelope>> ReadWholeLog(
    const EventStore& store, size_t page_events = 100) {
  std::vector<Envelope> events;
  uint64_t from = 1;
  for (int page = 0; page < 1'000'000; ++page) {
    absl::StatusOr<AllSlice> slice = store.ReadAll(from, page_events);
    if (!slice.ok()) return slice.status();
    for (Envelope& event : slice->events) events.push_back(std::move(event));
    if (slice->end_of_log) return events;
    from = slice->next_position;
  }
  return absl::InternalError("ReadAll never reached the end of the log");
}

// Every event of `stream`, read forward with ReadStream in pages.
inline absl::StatusOr<std::vector<Envelope>> ReadWholeStream(
    const EventStore& store, const std::string& stream,
    size_t page_events = 64) {
  std::vector<Envelope> events;
  uint64_t from = 1;
  for (int page = 0; page < 1'000'000; ++page) {
    absl::StatusOr<StreamSlice> slice =
        store.ReadStream(stream, Direction::kForward, from, page_events);
    if (!slice.ok()) return slice.status();
    for (Envelope& event : slice->events) events.push_back(std::move(event));
    if (slice->end_of_stream) return events;
    from = slice->next_version;
  }
  return absl::InternalError("ReadStream never reached the end of the stream");
}

}  // namespace crm::eventstore::test_util
