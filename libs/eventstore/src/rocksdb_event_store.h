// The RocksDB implementation of EventStore. Private: users go through
// EventStore::Open.
//
// Write path (group commit, as LevelDB's DBImpl::Write): every writer joins
// a queue; the writer at its front becomes the leader, takes the writers
// queued behind it into one group, checks each against the stream heads,
// assigns versions and global positions, and commits the whole group in one
// synced RocksDB write. Only one leader runs at a time, so positions are
// assigned and committed in order and no reader meets a gap that later fills.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "append_request.h"
#include "crm/eventstore/event_store.h"
#include "crm/eventstore/internal/v1/records.pb.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/db.h"

namespace crm::eventstore::internal {

class RocksDbEventStore final : public EventStore {
 public:
  static absl::StatusOr<std::unique_ptr<EventStore>> Open(Options options);
  ~RocksDbEventStore() override;

  absl::StatusOr<AppendResult> Append(std::string_view stream,
                                      ExpectedVersion expected_version,
                                      std::vector<Envelope> events,
                                      std::string_view request_id) override;
  absl::StatusOr<AppendResult> AppendMulti(
      std::vector<StreamAppend> streams, std::string_view request_id) override;
  absl::StatusOr<std::optional<AppendResult>> LookupRequest(
      std::string_view request_id) const override;
  absl::StatusOr<StreamSlice> ReadStream(std::string_view stream,
                                         Direction direction,
                                         uint64_t from_version,
                                         size_t max_count) const override;
  absl::Status ReadAllInto(uint64_t from_position, size_t max_count,
                           AllSlice& slice) const override;
  absl::Status ReadAllRawInto(uint64_t from_position, size_t max_count,
                              RawSlice& slice) const override;
  uint64_t LastPosition() const override;
  absl::StatusOr<std::unique_ptr<Subscription>> SubscribeToAll(
      uint64_t from_position, SubscriptionOptions options) override;
  absl::StatusOr<StreamInfo> GetStreamInfo(
      std::string_view stream) const override;
  absl::Status SetStreamMetadata(
      std::string_view stream,
      std::map<std::string, std::string> metadata) override;
  absl::Status DeleteStream(std::string_view stream,
                            ExpectedVersion expected_version) override;
  absl::Status WriteSnapshot(std::string_view stream, uint64_t version,
                             std::string state) override;
  absl::StatusOr<Snapshot> ReadSnapshot(std::string_view stream) const override;
  using EventStore::Write;
  absl::Status Write(rocksdb::WriteBatch& batch,
                     Durability durability) override;
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> ColumnFamily(
      std::string_view name) const override;
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> CreateColumnFamily(
      std::string_view name) override;
  absl::Status DropColumnFamily(std::string_view name) override;
  absl::Status PurgeDeletedData(absl::Duration timeout) override;
  rocksdb::DB& db() const override { return *db_; }
  EventStoreStats stats() const override;

  // For subscriptions: waits until the log's last position is at least
  // `position`, `*cancelled` turns true, or `timeout` passes. Returns the
  // last position.
  uint64_t WaitForPosition(uint64_t position,
                           const std::atomic<bool>* cancelled,
                           absl::Duration timeout) const;
  // Wakes every WaitForPosition so that it re-checks its cancel flag.
  void WakeWaiters() const;

 private:
  // ReadAllInto and ReadAllRawInto: `decode(value, event)` fills one event
  // of `slice` from its stored bytes and gives its global position, or
  // nullopt when the bytes are corrupt.
  template <typename Slice, typename Decode>
  absl::Status ReadLogInto(uint64_t from_position, size_t max_count,
                           Slice& slice, Decode decode) const;
  // One pending write: an append, or a stream deletion.
  struct Writer {
    PreparedAppend* append = nullptr;
    // For a deletion (append == nullptr).
    std::string_view delete_stream;
    ExpectedVersion delete_expected = ExpectedVersion::Any();

    absl::Status status;
    AppendResult result;
    bool done = false;
    absl::CondVar cv;
  };

  // The stream heads read or changed by the group being committed.
  using HeadCache = absl::flat_hash_map<std::string, v1::StreamRecord>;

  explicit RocksDbEventStore(Options options);
  absl::Status OpenDb();
  absl::Status CheckFormatVersion(bool may_initialise)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(families_mu_);

  // Queues `writer` and returns once its group has committed.
  void Commit(Writer& writer);
  // Builds the group led by writers_.front(). REQUIRES: queue_mu_ held.
  std::vector<Writer*> TakeGroup() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_);
  void CommitGroup(const std::vector<Writer*>& group)
      ABSL_LOCKS_EXCLUDED(queue_mu_);
  // Adds one writer's records to `batch`, reading heads through `heads` and
  // updating it only on success.
  absl::Status StageAppend(Writer& writer, rocksdb::WriteBatch& batch,
                           HeadCache& heads, uint64_t& next_position,
                           int64_t now_micros)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  absl::Status StageDelete(Writer& writer, rocksdb::WriteBatch& batch,
                           HeadCache& heads, int64_t now_micros)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // The head of `stream` as the group sees it: staged, stored, or a new
  // empty record (last_version 0).
  absl::StatusOr<v1::StreamRecord> HeadOf(const std::string& stream,
                                          const HeadCache& heads) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);

  // Reads the stored head; NOT_FOUND when the stream was never written.
  absl::StatusOr<v1::StreamRecord> ReadHead(
      std::string_view stream, const rocksdb::Snapshot* snapshot) const;
  // ReadHead that also refuses deleted streams.
  absl::StatusOr<v1::StreamRecord> ReadLiveHead(
      std::string_view stream, const rocksdb::Snapshot* snapshot) const;
  // The stored request record, if present and within the window.
  absl::StatusOr<std::optional<v1::RequestRecord>> ReadRequest(
      std::string_view request_id) const;
  int64_t NowMicros() const;

  // The names of the live SST, WAL, MANIFEST, CURRENT and OPTIONS files.
  absl::StatusOr<absl::flat_hash_set<std::string>> LiveFileNames() const;

  const Options options_;
  std::unique_ptr<rocksdb::DB> db_;
  // Held by PurgeDeletedData and DropColumnFamily, so a purge never uses a
  // dropped family's handle. Taken before families_mu_.
  absl::Mutex purge_mu_ ABSL_ACQUIRED_BEFORE(families_mu_);
  // The options of families created at run time.
  rocksdb::ColumnFamilyOptions extra_family_options_;
  // Every open handle (the store's and the extra ones), destroyed on close.
  mutable absl::Mutex families_mu_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_
      ABSL_GUARDED_BY(families_mu_);
  std::unique_ptr<rocksdb::CompactionFilter> request_expiry_;
  rocksdb::ColumnFamilyHandle* log_ = nullptr;
  rocksdb::ColumnFamilyHandle* stream_index_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_ = nullptr;
  rocksdb::ColumnFamilyHandle* stream_metadata_ = nullptr;
  rocksdb::ColumnFamilyHandle* snapshots_ = nullptr;
  rocksdb::ColumnFamilyHandle* requests_ = nullptr;
  absl::flat_hash_map<std::string, rocksdb::ColumnFamilyHandle*> extra_
      ABSL_GUARDED_BY(families_mu_);
  // IDs of the store's own families, which Write() refuses. Set on open.
  absl::flat_hash_set<uint32_t> own_family_ids_;

  absl::Mutex queue_mu_;
  std::deque<Writer*> writers_ ABSL_GUARDED_BY(queue_mu_);

  // Held by the leader while it commits a group.
  absl::Mutex commit_mu_ ABSL_ACQUIRED_AFTER(queue_mu_);
  uint64_t next_position_ ABSL_GUARDED_BY(commit_mu_) = 1;
  // Heads of recently written streams, exactly as committed (only the leader
  // writes heads, and it updates this after each successful write), so that
  // an append to a hot stream reads no head from RocksDB. Cleared when it
  // reaches kHeadCacheEntries, which bounds its memory.
  HeadCache head_cache_ ABSL_GUARDED_BY(commit_mu_);
  // Set after a failed write: RocksDB may have stopped accepting writes and
  // the positions in memory may be ahead of the disk, so nothing more is
  // written until the store is reopened.
  absl::Status write_failure_ ABSL_GUARDED_BY(commit_mu_);

  // The last committed position, for LastPosition() and subscriptions.
  mutable absl::Mutex position_mu_;
  uint64_t last_position_ ABSL_GUARDED_BY(position_mu_) = 0;

  // Serialise read-modify-write of metadata and snapshots.
  absl::Mutex metadata_mu_;
  absl::Mutex snapshot_mu_;

  struct AtomicStats {
    std::atomic<uint64_t> appends{0};
    std::atomic<uint64_t> events{0};
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> commit_groups{0};
    std::atomic<uint64_t> conflicts{0};
    std::atomic<uint64_t> deduplicated{0};
    std::atomic<uint64_t> sync_micros{0};
  };
  mutable AtomicStats stats_;
};

}  // namespace crm::eventstore::internal
