// EventStore: a service's append-only event log on RocksDB.
//
// One store per service process holds the service's whole history: the log of
// events in commit order (global positions 1, 2, 3 ...), the index of each
// stream (stream versions 1, 2, 3 ...), per-stream metadata and snapshots,
// durable idempotency keys, and, in extra column families, whatever the
// service keeps beside its log (projections, consumer offsets) so that those
// can commit in the same RocksDB WriteBatch as the events that cause them.
//
// Example:
//
//   EventStore::Options options;
//   options.path = "/var/lib/crm/contact/store";
//   ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store,
//                    EventStore::Open(options));
//
//   crm::common::v1::EventEnvelope created;
//   created.set_type("crm.contact.v1.ContactCreated");
//   created.set_payload(payload.SerializeAsString());
//   ASSIGN_OR_RETURN(AppendResult result,
//                    store->Append("contact-42", ExpectedVersion::NoStream(),
//                                  {created}, request_id));
//
//   ASSIGN_OR_RETURN(StreamSlice slice,
//                    store->ReadStream("contact-42", Direction::kForward,
//                                      /*from_version=*/1, /*max_count=*/100));
//
// Durability: an append that returns OK is on disk (its WAL record was
// fsynced), and survives a crash or kill -9 at any moment. Concurrent appends
// share one fsync (group commit): callers block until their group is synced.
//
// Thread safety: every method may be called concurrently from any thread.
// The store must outlive every Subscription it created.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/common/v1/event_envelope.pb.h"
#include "crm/eventstore/expected_version.h"
#include "crm/eventstore/raw_event.h"
#include "crm/eventstore/subscription.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class WriteBatch;
}  // namespace rocksdb

namespace crm::eventstore {

using Envelope = ::crm::common::v1::EventEnvelope;

// The events to append to one stream, with the condition on its version.
struct StreamAppend {
  std::string stream;
  ExpectedVersion expected_version = ExpectedVersion::Any();
  // The caller fills type (required), payload, schema_version (0 is stored as
  // 1), occurred_at, correlation_id, causation_id, actor, tenant and, if it
  // wants to choose it, event_id (a canonical UUID). The store sets stream,
  // stream_version, global_position and recorded_at, and generates event_id
  // when it is empty. Values the caller put in the store-owned fields are
  // overwritten.
  std::vector<Envelope> events;
};

// Where one stream's events landed.
struct StreamAppendResult {
  std::string stream;
  uint64_t first_version = 0;  // Version of the first event appended.
  uint64_t last_version = 0;   // Version of the last; the stream's new version.

  friend bool operator==(const StreamAppendResult&,
                         const StreamAppendResult&) = default;
};

struct AppendResult {
  // One per stream, in the order of the request.
  std::vector<StreamAppendResult> streams;
  // Global positions of the first and last event appended. The events of one
  // append have contiguous positions, in request order.
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  // True when this is the stored result of an earlier append with the same
  // request_id, returned without writing anything.
  bool deduplicated = false;

  friend bool operator==(const AppendResult&, const AppendResult&) = default;
};

enum class Direction { kForward, kBackward };

// A page of one stream's events.
struct StreamSlice {
  // In the direction read; at most max_count events.
  std::vector<Envelope> events;
  // The stream's version when it was read.
  uint64_t last_version = 0;
  // The version to pass as from_version to read on; meaningful only when
  // end_of_stream is false.
  uint64_t next_version = 0;
  // True when no event lies beyond this page in the direction read.
  bool end_of_stream = true;
};

// A page of the whole log.
struct AllSlice {
  // In commit order; at most max_count events.
  std::vector<Envelope> events;
  // The position to pass as from_position to read on (one past the last
  // event returned, or from_position when nothing was returned).
  uint64_t next_position = 0;
  // True when the page ends at the last committed event.
  bool end_of_log = true;
};

struct Snapshot {
  uint64_t version = 0;  // The stream version the state reflects.
  std::string state;     // Opaque to the store.
  absl::Time recorded_at;
};

struct StreamInfo {
  std::string stream;
  uint64_t last_version = 0;   // 0 when the stream has no events.
  uint64_t last_position = 0;  // Global position of its last event.
  absl::Time created_at;       // When its first event was recorded.
  bool deleted = false;
  uint64_t deleted_at_version = 0;  // The version when it was deleted.
  absl::Time deleted_at;
  // Free-form attributes set with SetStreamMetadata.
  std::map<std::string, std::string> metadata;
};

// Counters since Open, for metrics and benchmarks.
struct EventStoreStats {
  uint64_t appends = 0;        // Appends committed (not deduplicated ones).
  uint64_t events = 0;         // Events committed.
  uint64_t bytes = 0;          // Encoded bytes of the events committed.
  uint64_t commit_groups = 0;  // Synced RocksDB writes (group commits).
  uint64_t conflicts = 0;      // Appends refused for a wrong expected version.
  uint64_t deduplicated = 0;   // Appends answered from a stored request_id.
  uint64_t sync_micros = 0;    // Total time spent in synced writes.
};

// Called inside the commit of every append, on the committing thread, with
// the append's events exactly as they will be recorded (versions, positions
// and recorded_at set). Whatever it writes to `batch` commits atomically with
// the events. Returning an error refuses that one append, which then fails
// with the returned status and writes nothing; other appends of the same
// group commit normally.
//
// REQUIRES: it must not block on another thread, append to or write through
// the store (ColumnFamily() and reads are fine), or write to the store's own
// column families.
using CommitHook = std::function<absl::Status(
    const std::vector<Envelope>& events, rocksdb::WriteBatch& batch)>;

class EventStore {
 public:
  struct Options {
    // Directory of the RocksDB instance. Required.
    std::string path;

    // Create the store when the directory holds none. Default: true.
    bool create_if_missing = true;

    // fsync the WAL before an append returns. Default: true.
    // WARNING: false makes appends fast but loses the latest acknowledged
    // appends on a machine crash (not on a process crash). For benchmarks
    // and throw-away stores only.
    bool sync = true;

    // Largest encoded event (envelope with payload) accepted.
    // Default: 1 MiB. Larger events fail with INVALID_ARGUMENT.
    size_t max_event_bytes = 1 << 20;

    // Most events one append (all its streams together) may carry.
    // Default: 10,000.
    size_t max_events_per_append = 10'000;

    // Longest stream name accepted, in bytes. Default: 256.
    size_t max_stream_name_bytes = 256;

    // Longest request_id accepted, in bytes. Default: 128.
    size_t max_request_id_bytes = 128;

    // Most events a single read or subscription page returns; a larger
    // max_count is lowered to it. Default: 10,000.
    size_t max_read_count = 10'000;

    // A read stops adding events once its page holds this many encoded bytes
    // (it always returns at least one event). Default: 16 MiB.
    size_t max_read_bytes = 16 << 20;

    // Largest snapshot state accepted. Default: 16 MiB.
    size_t max_snapshot_bytes = 16 << 20;

    // How long a request_id is remembered. A retry after the window appends
    // again. Expired keys are dropped in compaction. Default: 24 hours.
    absl::Duration idempotency_window = absl::Hours(24);

    // Most bytes of events one group commit writes at once; larger groups
    // are split. Default: 8 MiB.
    size_t max_group_bytes = 8 << 20;

    // Extra column families for the service's own data (projections,
    // checkpoints, offsets), created if missing. Names must not start with
    // "es_" (reserved for the store).
    std::vector<std::string> extra_column_families;

    // RocksDB block cache shared by all column families. Default: 64 MiB.
    size_t block_cache_bytes = 64 << 20;

    // Most memory all column families' memtables take together; past it the
    // largest is flushed to disk. Also bounds how much WAL a restart after a
    // crash replays. Default: 64 MiB.
    size_t write_buffer_bytes = 64 << 20;

    // Source of recorded_at and idempotency ages. Default: absl::Now.
    std::function<absl::Time()> clock;

    // See CommitHook. Default: none.
    CommitHook commit_hook;

    // The RocksDB environment (files, threads). Default (nullptr): the
    // process's. For fault-injection tests. REQUIRES: outlives the store.
    rocksdb::Env* env = nullptr;
  };

  // Opens (or creates) the store at options.path.
  // Errors: INVALID_ARGUMENT for bad options; NOT_FOUND when the store does
  // not exist and create_if_missing is false; FAILED_PRECONDITION when the
  // directory holds a store of another on-disk format version (the message
  // names both versions) or a RocksDB database that is not an event store;
  // UNAVAILABLE when the directory is locked by another process or cannot be
  // read or written.
  static absl::StatusOr<std::unique_ptr<EventStore>> Open(Options options);

  // Flushes nothing further (every acknowledged append is already durable)
  // and closes RocksDB. REQUIRES: no call is in progress and no Subscription
  // is alive.
  virtual ~EventStore() = default;

  // The on-disk format version this build reads and writes.
  static constexpr int kFormatVersion = 1;

  // Appends `events` to `stream` if its version satisfies `expected_version`.
  // All events commit atomically, or none does. See AppendMulti for
  // request_id and errors.
  virtual absl::StatusOr<AppendResult> Append(
      std::string_view stream, ExpectedVersion expected_version,
      std::vector<Envelope> events, std::string_view request_id = {}) = 0;

  // Appends to several distinct streams at once, each with its own expected
  // version: every event of every stream commits atomically, or none does.
  //
  // request_id (optional, at most max_request_id_bytes): when an append with
  // the same request_id committed within the idempotency window, returns
  // that append's result with deduplicated = true and writes nothing. The
  // key is durable (it commits with the events). The comparison covers the
  // stream names, expected versions, and each event's type, schema_version
  // and payload; event_id, timestamps, correlation, causation, actor and
  // tenant may differ between a request and its retry.
  //
  // Errors, each appending nothing:
  //  - INVALID_ARGUMENT: no streams, a stream with no events, a stream named
  //    twice, an empty or too long stream name or one with control
  //    characters, an event without type, a malformed event_id, an event
  //    over max_event_bytes, more than max_events_per_append events, a too
  //    long request_id. The message names the offending field and value.
  //  - ABORTED: a stream's version does not satisfy its expected version;
  //    the message names the stream, the expected and the actual version,
  //    and ActualVersion(status) returns the actual version.
  //  - FAILED_PRECONDITION: a stream is deleted (IsStreamDeleted(status)).
  //  - ALREADY_EXISTS: request_id was used by an append with other content.
  //  - UNAVAILABLE: the disk write failed; the store refuses writes until
  //    reopened.
  virtual absl::StatusOr<AppendResult> AppendMulti(
      std::vector<StreamAppend> streams, std::string_view request_id = {}) = 0;

  // The stored result of the append that used `request_id`, if it committed
  // within the idempotency window; nullopt otherwise. Lets a service answer
  // a retry before deciding again.
  virtual absl::StatusOr<std::optional<AppendResult>> LookupRequest(
      std::string_view request_id) const = 0;

  // Reads up to max_count events of `stream`, starting at from_version and
  // going in `direction`. Forward from 0 or 1 starts at the first event;
  // backward from kEndOfStream (or any version past the end) starts at the
  // last.
  // Errors: INVALID_ARGUMENT for a bad stream name or max_count 0;
  // NOT_FOUND when the stream has no events; FAILED_PRECONDITION when it is
  // deleted (IsStreamDeleted(status); its events stay in ReadAll for audit).
  virtual absl::StatusOr<StreamSlice> ReadStream(std::string_view stream,
                                                 Direction direction,
                                                 uint64_t from_version,
                                                 size_t max_count) const = 0;
  static constexpr uint64_t kEndOfStream = UINT64_MAX;

  // Reads up to max_count events of the whole log in commit order, from
  // global position from_position (0 or 1 = the beginning). Includes the
  // events of deleted streams. Errors: INVALID_ARGUMENT for max_count 0.
  absl::StatusOr<AllSlice> ReadAll(uint64_t from_position,
                                   size_t max_count) const;

  // ReadAll into `slice`, reusing the memory of the events it already holds
  // (their strings keep their capacity): the way to page through the log in
  // a loop without allocating for every event. On error `slice` holds no
  // events.
  virtual absl::Status ReadAllInto(uint64_t from_position, size_t max_count,
                                   AllSlice& slice) const = 0;

  // ReadAllInto for readers that forward events unchanged: each event's
  // stored bytes (the serialized envelope) with its position, stream,
  // event_id and type (raw_event.h), without parsing the envelope. Same
  // paging, limits and errors as ReadAllInto (DATA_LOSS for an event whose
  // bytes are not a well-formed envelope).
  virtual absl::Status ReadAllRawInto(uint64_t from_position, size_t max_count,
                                      RawSlice& slice) const = 0;

  // Global position of the last committed event; 0 when the log is empty.
  virtual uint64_t LastPosition() const = 0;

  // Follows the log from global position from_position (0 or 1 = the
  // beginning): first the events already committed, then new ones as they
  // commit, each exactly once and in order. Memory is bounded by
  // options.max_batch_events; a subscriber that does not call Next() holds
  // the store back in nothing.
  // Errors: INVALID_ARGUMENT for max_batch_events 0.
  virtual absl::StatusOr<std::unique_ptr<Subscription>> SubscribeToAll(
      uint64_t from_position, SubscriptionOptions options = {}) = 0;

  // Facts about a stream. Errors: INVALID_ARGUMENT for a bad name; NOT_FOUND
  // when the stream was never written. A deleted stream is returned with
  // deleted = true.
  virtual absl::StatusOr<StreamInfo> GetStreamInfo(
      std::string_view stream) const = 0;

  // Replaces the stream's free-form metadata (at most 64 entries, each key
  // and value at most 1 KiB). Durable on return.
  // Errors: INVALID_ARGUMENT for a bad name or oversized metadata;
  // NOT_FOUND when the stream has no events; FAILED_PRECONDITION when it is
  // deleted.
  virtual absl::Status SetStreamMetadata(
      std::string_view stream, std::map<std::string, std::string> metadata) = 0;

  // Soft-deletes a stream if its version satisfies `expected_version`: reads
  // of it fail with FAILED_PRECONDITION (IsStreamDeleted), appends to it are
  // refused, and its events stay in the log for audit. Durable on return.
  // Errors: as Append (INVALID_ARGUMENT, ABORTED, UNAVAILABLE); NOT_FOUND
  // when the stream has no events; FAILED_PRECONDITION when already deleted.
  virtual absl::Status DeleteStream(std::string_view stream,
                                    ExpectedVersion expected_version) = 0;

  // Stores `state` as the snapshot of `stream` at `version`, replacing an
  // older snapshot; a snapshot older than the stored one is ignored (OK).
  // Snapshots are a cache: they are not fsynced and may be lost in a crash.
  // Errors: INVALID_ARGUMENT for a bad name, version 0, or state over
  // max_snapshot_bytes; NOT_FOUND when the stream has no events;
  // OUT_OF_RANGE when version is past the stream's version;
  // FAILED_PRECONDITION when the stream is deleted.
  virtual absl::Status WriteSnapshot(std::string_view stream, uint64_t version,
                                     std::string state) = 0;

  // The latest snapshot of `stream`. Errors: INVALID_ARGUMENT for a bad
  // name; NOT_FOUND when there is none; FAILED_PRECONDITION when the stream
  // is deleted.
  virtual absl::StatusOr<Snapshot> ReadSnapshot(
      std::string_view stream) const = 0;

  // Whether Write returns only once the batch is on disk.
  enum class Durability {
    // fsynced (unless Options::sync is off): survives a power loss.
    kSynced,
    // In the WAL, not yet fsynced: survives a crash of the process, not of
    // the machine. Any later synced write or append makes it durable too
    // (one WAL, written in order), and recovery keeps a prefix of the
    // writes, each batch whole. For state that can be rebuilt from the log
    // (a projection and its checkpoint, in one batch) or written again.
    kUnsynced,
  };

  // Commits a batch that writes only to extra column families, synced.
  // For consumers that store their state and their offset atomically.
  // Errors: UNAVAILABLE when the write fails.
  absl::Status Write(rocksdb::WriteBatch& batch) {
    return Write(batch, Durability::kSynced);
  }
  virtual absl::Status Write(rocksdb::WriteBatch& batch,
                             Durability durability) = 0;

  // The handle of an extra column family (named in Options, created with
  // CreateColumnFamily, or found on disk), for reads and for writes in a
  // CommitHook or Write(). Owned by the store.
  // Errors: NOT_FOUND when there is no such family.
  virtual absl::StatusOr<rocksdb::ColumnFamilyHandle*> ColumnFamily(
      std::string_view name) const = 0;

  // Creates the extra column family `name` at run time if it does not exist
  // (it then survives reopening) and returns its handle, owned by the store
  // and valid until DropColumnFamily(name) or the store closes.
  // Errors: INVALID_ARGUMENT for an empty name, "default" or one starting
  // with "es_"; UNAVAILABLE when the disk write fails.
  virtual absl::StatusOr<rocksdb::ColumnFamilyHandle*> CreateColumnFamily(
      std::string_view name) = 0;

  // Drops the extra column family `name` with all its data and destroys its
  // handle. REQUIRES: no thread uses the handle any more.
  // Errors: INVALID_ARGUMENT for a store family; NOT_FOUND when there is no
  // such family; UNAVAILABLE when the disk write fails.
  virtual absl::Status DropColumnFamily(std::string_view name) = 0;

  // Makes what was overwritten or deleted in the extra column families
  // physically gone from the store's files (erasure, crypto-shredding): RocksDB
  // keeps old values in memtables, WAL files and SST files until a flush and a
  // compaction drop them. This flushes every column family (so every WAL file
  // written so far becomes obsolete), compacts every extra column family down
  // to its last level (so no live SST file holds an old value or a deleted
  // key), and returns once the obsolete WAL and SST files are deleted from
  // the directory. The store's own families are flushed, not compacted: the
  // log is immutable and holds no values that are ever overwritten.
  //
  // Cost: it rewrites every extra column family (projections, keys) in full,
  // so it takes time and I/O in proportion to their size; appends and reads
  // go on meanwhile. Calls are serialised with each other and with
  // DropColumnFamily.
  //
  // WARNING: a value still visible to a ProjectionView, a RocksDB snapshot
  // or an iterator alive during the call survives it (compaction keeps what
  // a snapshot can see); call it again once they are released. Copies made
  // before (backups, checkpoints) are not touched. The store starts a new
  // MANIFEST on every change of its files (max_manifest_file_size), and the
  // purge ends with one such change, so no MANIFEST keeps the first or last
  // key of an SST file the purge removed.
  // Errors: UNAVAILABLE when a flush or compaction fails, or when obsolete
  // files are still on disk after `timeout` (file deletions disabled by a
  // backup in progress, say); retry then.
  virtual absl::Status PurgeDeletedData(
      absl::Duration timeout = absl::Seconds(30)) = 0;

  // The underlying database, for reading extra column families (iterators,
  // snapshots). WARNING: writing to the store's own column families through
  // it corrupts the store.
  virtual rocksdb::DB& db() const = 0;

  virtual EventStoreStats stats() const = 0;
};

// The actual stream version carried by an ABORTED status from Append,
// AppendMulti or DeleteStream; nullopt for any other status.
std::optional<uint64_t> ActualVersion(const absl::Status& status);

// True when `status` reports that a stream is deleted.
bool IsStreamDeleted(const absl::Status& status);

}  // namespace crm::eventstore
