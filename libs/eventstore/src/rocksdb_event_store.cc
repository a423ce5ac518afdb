#include "rocksdb_event_store.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "crm/base/status_macros.h"
#include "errors_internal.h"
#include "fmt/format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "key_encoding.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/transaction_log.h"
#include "rocksdb/write_batch.h"
#include "rocksdb/write_buffer_manager.h"
#include "subscription_internal.h"

namespace crm::eventstore {

absl::StatusOr<std::unique_ptr<EventStore>> EventStore::Open(Options options) {
  return internal::RocksDbEventStore::Open(std::move(options));
}

namespace internal {
namespace {

// Most writers one group commit takes, whatever their size.
constexpr size_t kMaxGroupWriters = 4096;
// Most stream heads the committing thread keeps in memory (about 100 bytes
// each).
constexpr size_t kHeadCacheEntries = 65536;
// Limits of SetStreamMetadata.
constexpr size_t kMaxMetadataEntries = 64;
constexpr size_t kMaxMetadataBytes = 1024;

const std::vector<std::string>& StoreFamilies() {
  static const auto* families =
      new std::vector<std::string>{kLogFamily,       kStreamIndexFamily,
                                   kStreamsFamily,   kStreamMetadataFamily,
                                   kSnapshotsFamily, kRequestsFamily};
  return *families;
}

google::protobuf::Timestamp ToTimestamp(int64_t micros) {
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(micros / 1'000'000);
  timestamp.set_nanos(static_cast<int32_t>(micros % 1'000'000) * 1000);
  return timestamp;
}

AppendResult ToAppendResult(const v1::RequestRecord& record) {
  AppendResult result;
  result.first_position = record.first_position();
  result.last_position = record.last_position();
  for (const v1::RequestRecord::StreamResult& stream : record.streams()) {
    result.streams.push_back(
        {stream.stream(), stream.first_version(), stream.last_version()});
  }
  result.deduplicated = true;
  return result;
}

// Drops idempotency keys older than the window during compaction.
class RequestExpiryFilter final : public rocksdb::CompactionFilter {
 public:
  RequestExpiryFilter(std::function<absl::Time()> clock, absl::Duration window)
      : clock_(std::move(clock)), window_(window) {}

  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/,
              const rocksdb::Slice& value, std::string* /*new_value*/,
              bool* /*value_changed*/) const override {
    v1::RequestRecord record;
    // A record that does not parse is kept: dropping it could let a retry
    // append twice.
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return false;
    }
    return absl::FromUnixMicros(record.recorded_at_micros()) + window_ <
           clock_();
  }
  const char* Name() const override {
    return "crm.eventstore.RequestExpiryFilter";
  }

 private:
  std::function<absl::Time()> clock_;
  absl::Duration window_;
};

// Refuses a batch for Write() that touches the store's own families.
class ForeignFamilyCheck final : public rocksdb::WriteBatch::Handler {
 public:
  explicit ForeignFamilyCheck(const absl::flat_hash_set<uint32_t>& own)
      : own_(own) {}
  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice&,
                        const rocksdb::Slice&) override {
    return Check(id);
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice&) override {
    return Check(id);
  }
  rocksdb::Status SingleDeleteCF(uint32_t id, const rocksdb::Slice&) override {
    return Check(id);
  }
  rocksdb::Status DeleteRangeCF(uint32_t id, const rocksdb::Slice&,
                                const rocksdb::Slice&) override {
    return Check(id);
  }
  rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice&,
                          const rocksdb::Slice&) override {
    return Check(id);
  }

 private:
  rocksdb::Status Check(uint32_t id) const {
    return own_.contains(id) ? rocksdb::Status::InvalidArgument("own family")
                             : rocksdb::Status::OK();
  }
  const absl::flat_hash_set<uint32_t>& own_;
};

absl::Status ValidateOptions(const EventStore::Options& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError(
        "event store: Options.path is empty; set it to the store's directory");
  }
  const std::pair<const char*, size_t> limits[] = {
      {"max_event_bytes", options.max_event_bytes},
      {"max_events_per_append", options.max_events_per_append},
      {"max_stream_name_bytes", options.max_stream_name_bytes},
      {"max_request_id_bytes", options.max_request_id_bytes},
      {"max_read_count", options.max_read_count},
      {"max_read_bytes", options.max_read_bytes},
      {"max_snapshot_bytes", options.max_snapshot_bytes},
      {"max_group_bytes", options.max_group_bytes},
      {"block_cache_bytes", options.block_cache_bytes},
      {"write_buffer_bytes", options.write_buffer_bytes},
  };
  for (const auto& [name, value] : limits) {
    if (value == 0) {
      return absl::InvalidArgumentError(
          fmt::format("event store: Options.{} is 0; it must be at least 1 "
                      "(leave it unset for the default)",
                      name));
    }
  }
  if (options.idempotency_window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "event store: Options.idempotency_window must be positive");
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& name : options.extra_column_families) {
    if (name.empty() || name == rocksdb::kDefaultColumnFamilyName ||
        name.rfind(kReservedFamilyPrefix, 0) == 0 ||
        !seen.insert(name).second) {
      return absl::InvalidArgumentError(
          fmt::format("event store: extra column family '{}' is empty, "
                      "'default', starts with the reserved prefix 'es_', or is "
                      "named twice; choose another name",
                      name));
    }
  }
  return absl::OkStatus();
}

// Reads the routing fields of a serialized EventEnvelope (event_id = 1,
// stream = 2, global_position = 4, type = 5) from its wire form, skipping
// every other field; false when the bytes are not a well-formed message.
bool DecodeRawFields(const std::string& bytes, RawEvent& event) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  event.global_position = 0;
  event.stream.clear();
  event.event_id.clear();
  event.type.clear();
  while (const uint32_t tag = input.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const bool delimited = WireFormatLite::GetTagWireType(tag) ==
                           WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    const bool varint =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT;
    bool ok = true;
    if (field == 1 && delimited) {
      ok = WireFormatLite::ReadString(&input, &event.event_id);
    } else if (field == 2 && delimited) {
      ok = WireFormatLite::ReadString(&input, &event.stream);
    } else if (field == 4 && varint) {
      ok = input.ReadVarint64(&event.global_position);
    } else if (field == 5 && delimited) {
      ok = WireFormatLite::ReadString(&input, &event.type);
    } else {
      ok = WireFormatLite::SkipField(&input, tag);
    }
    if (!ok) return false;
  }
  return input.ConsumedEntireMessage() && event.global_position > 0;
}

}  // namespace

RocksDbEventStore::RocksDbEventStore(Options options)
    : options_(std::move(options)) {}

RocksDbEventStore::~RocksDbEventStore() {
  if (db_ == nullptr) return;
  absl::MutexLock lock(&families_mu_);
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  // Every acknowledged append is already synced; Close only releases files.
  db_->Close().PermitUncheckedError();
}

absl::StatusOr<std::unique_ptr<EventStore>> RocksDbEventStore::Open(
    Options options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  if (!options.clock) options.clock = [] { return absl::Now(); };
  std::unique_ptr<RocksDbEventStore> store(
      new RocksDbEventStore(std::move(options)));
  RETURN_IF_ERROR(store->OpenDb());
  return store;
}

absl::Status RocksDbEventStore::OpenDb() {
  // No other thread can see the store yet; the lock satisfies the
  // annotations of the members set here. It is released before the
  // positions are set, as appends take the locks in the other order.
  absl::ReleasableMutexLock families_lock(&families_mu_);
  const std::string& path = options_.path;
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options_.create_if_missing;
  db_options.create_missing_column_families = false;
  if (options_.env != nullptr) db_options.env = options_.env;
  // Replays the WAL up to the first torn record: after a crash the store
  // holds every synced write and nothing after a torn one.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;
  // Every change of the set of files starts a new MANIFEST holding only the
  // live files (the old one is deleted): the first and last keys of SST
  // files that compaction removed do not linger in an old MANIFEST, which
  // PurgeDeletedData relies on. The cost is one small file write per flush
  // or compaction, in proportion to the number of live SST files.
  db_options.max_manifest_file_size = 1;
  db_options.bytes_per_sync = 1 << 20;

  std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(options_.block_cache_bytes);
  db_options.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(
          options_.write_buffer_bytes);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  rocksdb::ColumnFamilyOptions log_options;  // Sequential keys: no filter.
  log_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions keyed_options;
  keyed_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::ColumnFamilyOptions request_options = keyed_options;
  request_expiry_ = std::make_unique<RequestExpiryFilter>(
      options_.clock, options_.idempotency_window);
  request_options.compaction_filter = request_expiry_.get();
  extra_family_options_ = keyed_options;
  auto family_options = [&](const std::string& name) {
    if (name == kLogFamily) return log_options;
    if (name == kRequestsFamily) return request_options;
    return keyed_options;
  };

  // Open with exactly the families on disk, check the format, and only then
  // create what is missing, so a store of another format is never changed.
  std::vector<std::string> existing;
  const bool exists =
      std::filesystem::exists(std::filesystem::path(path) / "CURRENT");
  if (exists) {
    RETURN_IF_ERROR(FromRocksDb(
        rocksdb::DB::ListColumnFamilies(db_options, path, &existing),
        fmt::format("listing the column families of '{}'", path)));
  } else if (!options_.create_if_missing) {
    return absl::NotFoundError(
        fmt::format("event store: no store at '{}'; check the data directory, "
                    "or allow creating a new store",
                    path));
  } else {
    std::error_code error;
    std::filesystem::create_directories(path, error);
    if (error) {
      return absl::UnavailableError(
          fmt::format("event store: cannot create directory '{}': {}; check "
                      "the permissions",
                      path, error.message()));
    }
    existing.push_back(rocksdb::kDefaultColumnFamilyName);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.reserve(existing.size());
  for (const std::string& name : existing) {
    descriptors.emplace_back(name, family_options(name));
  }
  rocksdb::DB* db = nullptr;
  RETURN_IF_ERROR(FromRocksDb(
      rocksdb::DB::Open(db_options, path, descriptors, &handles_, &db),
      fmt::format("opening '{}'", path)));
  db_.reset(db);

  const bool had_store_families =
      std::find(existing.begin(), existing.end(), kLogFamily) != existing.end();
  RETURN_IF_ERROR(CheckFormatVersion(!exists || had_store_families));

  std::vector<std::string> wanted = StoreFamilies();
  wanted.insert(wanted.end(), options_.extra_column_families.begin(),
                options_.extra_column_families.end());
  for (const std::string& name : wanted) {
    if (std::find(existing.begin(), existing.end(), name) != existing.end()) {
      continue;
    }
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    RETURN_IF_ERROR(FromRocksDb(
        db_->CreateColumnFamily(family_options(name), name, &handle),
        fmt::format("creating column family '{}'", name)));
    handles_.push_back(handle);
  }
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    const std::string& name = handle->GetName();
    if (name == kLogFamily) log_ = handle;
    if (name == kStreamIndexFamily) stream_index_ = handle;
    if (name == kStreamsFamily) streams_ = handle;
    if (name == kStreamMetadataFamily) stream_metadata_ = handle;
    if (name == kSnapshotsFamily) snapshots_ = handle;
    if (name == kRequestsFamily) requests_ = handle;
    if (name.rfind(kReservedFamilyPrefix, 0) != 0 &&
        name != rocksdb::kDefaultColumnFamilyName) {
      extra_[name] = handle;
    }
  }

  for (rocksdb::ColumnFamilyHandle* handle :
       {log_, stream_index_, streams_, stream_metadata_, snapshots_, requests_,
        db_->DefaultColumnFamily()}) {
    own_family_ids_.insert(handle->GetID());
  }
  families_lock.Release();

  // Written last, so its presence means the store is fully initialised.
  rocksdb::WriteOptions synced;
  synced.sync = true;
  RETURN_IF_ERROR(FromRocksDb(
      db_->Put(synced, kFormatVersionKey, fmt::format("{}", kFormatVersion)),
      "recording the format version"));

  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), log_));
  it->SeekToLast();
  RETURN_IF_ERROR(FromRocksDb(it->status(), "finding the end of the log"));
  uint64_t last = 0;
  if (it->Valid()) {
    std::optional<uint64_t> position = DecodePosition(it->key().ToStringView());
    if (!position.has_value()) {
      return absl::DataLossError(
          fmt::format("event store: the last log key in '{}' is malformed; "
                      "restore the store from a backup",
                      path));
    }
    last = *position;
  }
  {
    absl::MutexLock lock(&commit_mu_);
    next_position_ = last + 1;
  }
  absl::MutexLock lock(&position_mu_);
  last_position_ = last;
  return absl::OkStatus();
}

absl::Status RocksDbEventStore::CheckFormatVersion(bool may_initialise) {
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), kFormatVersionKey, &value);
  if (status.IsNotFound()) {
    if (may_initialise) return absl::OkStatus();
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    // An empty database is a store whose creation was interrupted.
    if (!it->Valid() && it->status().ok() && handles_.size() == 1) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        fmt::format("event store: '{}' holds a RocksDB database that is not an "
                    "event store; point the data directory at an empty "
                    "directory or an existing store",
                    options_.path));
  }
  RETURN_IF_ERROR(FromRocksDb(status, "reading the format version"));
  int version = 0;
  if (!absl::SimpleAtoi(value, &version) || version != kFormatVersion) {
    return absl::FailedPreconditionError(fmt::format(
        "event store: '{}' has on-disk format version '{}' but this build "
        "reads and writes version {}; run a release that supports that "
        "version, or export the log with it and import it here",
        options_.path, value, kFormatVersion));
  }
  return absl::OkStatus();
}

int64_t RocksDbEventStore::NowMicros() const {
  return absl::ToUnixMicros(options_.clock());
}

// ---------------------------------------------------------------------------
// Write path

absl::StatusOr<AppendResult> RocksDbEventStore::Append(
    std::string_view stream, ExpectedVersion expected_version,
    std::vector<Envelope> events, std::string_view request_id) {
  std::vector<StreamAppend> streams(1);
  streams[0].stream = std::string(stream);
  streams[0].expected_version = expected_version;
  streams[0].events = std::move(events);
  return AppendMulti(std::move(streams), request_id);
}

absl::StatusOr<AppendResult> RocksDbEventStore::AppendMulti(
    std::vector<StreamAppend> streams, std::string_view request_id) {
  ASSIGN_OR_RETURN(PreparedAppend prepared,
                   PrepareAppend(std::move(streams), request_id, options_));
  Writer writer;
  writer.append = &prepared;
  Commit(writer);
  if (!writer.status.ok()) return writer.status;
  return std::move(writer.result);
}

absl::Status RocksDbEventStore::DeleteStream(std::string_view stream,
                                             ExpectedVersion expected_version) {
  RETURN_IF_ERROR(ValidateStreamName(stream, options_.max_stream_name_bytes));
  Writer writer;
  writer.delete_stream = stream;
  writer.delete_expected = expected_version;
  Commit(writer);
  return writer.status;
}

void RocksDbEventStore::Commit(Writer& writer) {
  queue_mu_.Lock();
  writers_.push_back(&writer);
  while (!writer.done && &writer != writers_.front()) {
    writer.cv.Wait(&queue_mu_);
  }
  if (writer.done) {
    queue_mu_.Unlock();
    return;
  }
  // This writer leads: it commits itself and the writers queued behind it.
  std::vector<Writer*> group = TakeGroup();
  queue_mu_.Unlock();

  CommitGroup(group);

  queue_mu_.Lock();
  for (Writer* member : group) {
    writers_.pop_front();
    if (member != &writer) {
      member->done = true;
      member->cv.Signal();
    }
  }
  if (!writers_.empty()) writers_.front()->cv.Signal();
  queue_mu_.Unlock();
}

std::vector<RocksDbEventStore::Writer*> RocksDbEventStore::TakeGroup() {
  std::vector<Writer*> group;
  size_t bytes = 0;
  absl::flat_hash_set<std::string_view> request_ids;
  for (Writer* writer : writers_) {
    const PreparedAppend* append = writer->append;
    const size_t size = append != nullptr ? append->bytes : 0;
    if (!group.empty() && bytes + size > options_.max_group_bytes) break;
    // A retry of a request in this group waits for the next group, where it
    // finds the first one's stored result.
    if (append != nullptr && !append->request_id.empty() &&
        !request_ids.insert(append->request_id).second) {
      break;
    }
    group.push_back(writer);
    bytes += size;
    if (group.size() == kMaxGroupWriters) break;
  }
  return group;
}

void RocksDbEventStore::CommitGroup(const std::vector<Writer*>& group) {
  absl::MutexLock lock(&commit_mu_);
  if (!write_failure_.ok()) {
    for (Writer* writer : group) writer->status = write_failure_;
    return;
  }
  rocksdb::WriteBatch batch;
  HeadCache heads;
  uint64_t next_position = next_position_;
  const int64_t now = NowMicros();
  uint64_t appends = 0;
  uint64_t events = 0;
  uint64_t bytes = 0;
  for (Writer* writer : group) {
    batch.SetSavePoint();
    absl::Status status =
        writer->append != nullptr
            ? StageAppend(*writer, batch, heads, next_position, now)
            : StageDelete(*writer, batch, heads, now);
    if (status.ok()) {
      batch.PopSavePoint().PermitUncheckedError();
      if (writer->append != nullptr && !writer->result.deduplicated) {
        ++appends;
        events += writer->append->events.size();
        bytes += writer->append->bytes;
      }
    } else {
      batch.RollbackToSavePoint().PermitUncheckedError();
      if (status.code() == absl::StatusCode::kAborted) ++stats_.conflicts;
      writer->status = std::move(status);
    }
  }
  if (batch.Count() == 0) return;

  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  const absl::Time start = absl::Now();
  rocksdb::Status written = db_->Write(write_options, &batch);
  stats_.sync_micros += absl::ToInt64Microseconds(absl::Now() - start);
  if (!written.ok()) {
    write_failure_ =
        FromRocksDb(written,
                    "committing appends (the store refuses writes until it is "
                    "reopened; restart the service once the disk is healthy)");
    for (Writer* writer : group) {
      if (writer->status.ok() && !writer->result.deduplicated) {
        writer->status = write_failure_;
      }
    }
    return;
  }
  if (head_cache_.size() + heads.size() > kHeadCacheEntries) {
    head_cache_.clear();
  }
  for (auto& [stream, head] : heads) head_cache_[stream] = std::move(head);
  ++stats_.commit_groups;
  stats_.appends += appends;
  stats_.events += events;
  stats_.bytes += bytes;
  if (next_position != next_position_) {
    next_position_ = next_position;
    absl::MutexLock position_lock(&position_mu_);
    last_position_ = next_position - 1;
  }
}

absl::Status RocksDbEventStore::StageAppend(Writer& writer,
                                            rocksdb::WriteBatch& batch,
                                            HeadCache& heads,
                                            uint64_t& next_position,
                                            int64_t now_micros) {
  PreparedAppend& append = *writer.append;
  if (!append.request_id.empty()) {
    ASSIGN_OR_RETURN(std::optional<v1::RequestRecord> stored,
                     ReadRequest(append.request_id));
    if (stored.has_value()) {
      if (stored->fingerprint() != append.fingerprint) {
        return absl::AlreadyExistsError(fmt::format(
            "request_id '{}' was already used by an append with different "
            "content; use a new request_id for a new request",
            append.request_id));
      }
      writer.result = ToAppendResult(*stored);
      ++stats_.deduplicated;
      return absl::OkStatus();
    }
  }

  std::vector<v1::StreamRecord> new_heads;
  new_heads.reserve(append.parts.size());
  for (const PreparedAppend::Part& part : append.parts) {
    ASSIGN_OR_RETURN(v1::StreamRecord head, HeadOf(part.stream, heads));
    if (head.deleted_at_version() != 0) {
      return StreamDeleted(part.stream, head.deleted_at_version());
    }
    if (!part.expected_version.IsSatisfiedBy(head.last_version())) {
      return WrongExpectedVersion(part.stream, part.expected_version,
                                  head.last_version());
    }
    new_heads.push_back(std::move(head));
  }

  const google::protobuf::Timestamp recorded_at = ToTimestamp(now_micros);
  AppendResult result;
  result.first_position = next_position;
  uint64_t position = next_position;
  std::string value;
  for (size_t i = 0; i < append.parts.size(); ++i) {
    const PreparedAppend::Part& part = append.parts[i];
    v1::StreamRecord& head = new_heads[i];
    if (head.last_version() == 0) head.set_created_at_micros(now_micros);
    StreamAppendResult& stream_result = result.streams.emplace_back();
    stream_result.stream = part.stream;
    stream_result.first_version = head.last_version() + 1;
    for (size_t e = part.begin; e < part.end; ++e) {
      Envelope& event = append.events[e];
      head.set_last_version(head.last_version() + 1);
      event.set_stream_version(head.last_version());
      event.set_global_position(position);
      *event.mutable_recorded_at() = recorded_at;
      const std::string position_key = EncodePosition(position);
      value.clear();
      event.SerializeToString(&value);
      batch.Put(log_, position_key, value);
      batch.Put(stream_index_, StreamIndexKey(part.stream, head.last_version()),
                position_key);
      ++position;
    }
    head.set_last_position(position - 1);
    stream_result.last_version = head.last_version();
    batch.Put(streams_, part.stream, head.SerializeAsString());
  }
  result.last_position = position - 1;

  if (!append.request_id.empty()) {
    v1::RequestRecord record;
    record.set_fingerprint(append.fingerprint);
    record.set_recorded_at_micros(now_micros);
    record.set_first_position(result.first_position);
    record.set_last_position(result.last_position);
    for (const StreamAppendResult& stream_result : result.streams) {
      v1::RequestRecord::StreamResult* out = record.add_streams();
      out->set_stream(stream_result.stream);
      out->set_first_version(stream_result.first_version);
      out->set_last_version(stream_result.last_version);
    }
    batch.Put(requests_, append.request_id, record.SerializeAsString());
  }
  if (options_.commit_hook) {
    RETURN_IF_ERROR(options_.commit_hook(append.events, batch));
  }

  for (size_t i = 0; i < append.parts.size(); ++i) {
    heads[append.parts[i].stream] = std::move(new_heads[i]);
  }
  next_position = position;
  writer.result = std::move(result);
  return absl::OkStatus();
}

absl::Status RocksDbEventStore::StageDelete(Writer& writer,
                                            rocksdb::WriteBatch& batch,
                                            HeadCache& heads,
                                            int64_t now_micros) {
  const std::string stream(writer.delete_stream);
  ASSIGN_OR_RETURN(v1::StreamRecord head, HeadOf(stream, heads));
  if (head.last_version() == 0) return StreamNotFound(stream);
  if (head.deleted_at_version() != 0) {
    return StreamDeleted(stream, head.deleted_at_version());
  }
  if (!writer.delete_expected.IsSatisfiedBy(head.last_version())) {
    return WrongExpectedVersion(stream, writer.delete_expected,
                                head.last_version());
  }
  head.set_deleted_at_version(head.last_version());
  head.set_deleted_at_micros(now_micros);
  batch.Put(streams_, stream, head.SerializeAsString());
  heads[stream] = std::move(head);
  return absl::OkStatus();
}

absl::StatusOr<v1::StreamRecord> RocksDbEventStore::HeadOf(
    const std::string& stream, const HeadCache& heads) const {
  if (auto it = heads.find(stream); it != heads.end()) return it->second;
  if (auto it = head_cache_.find(stream); it != head_cache_.end()) {
    return it->second;
  }
  absl::StatusOr<v1::StreamRecord> stored = ReadHead(stream, nullptr);
  if (absl::IsNotFound(stored.status())) return v1::StreamRecord();
  return stored;
}

absl::Status RocksDbEventStore::Write(rocksdb::WriteBatch& batch,
                                      Durability durability) {
  ForeignFamilyCheck check(own_family_ids_);
  if (!batch.Iterate(&check).ok()) {
    return absl::InvalidArgumentError(
        "event store: Write() was given a batch that writes to the store's "
        "own column families; write only to the extra column families");
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync && durability == Durability::kSynced;
  return FromRocksDb(db_->Write(write_options, &batch), "writing a batch");
}

// ---------------------------------------------------------------------------
// Read path

absl::StatusOr<v1::StreamRecord> RocksDbEventStore::ReadHead(
    std::string_view stream, const rocksdb::Snapshot* snapshot) const {
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  rocksdb::PinnableSlice value;
  rocksdb::Status status = db_->Get(read_options, streams_, stream, &value);
  if (status.IsNotFound()) return StreamNotFound(stream);
  RETURN_IF_ERROR(
      FromRocksDb(status, fmt::format("reading stream '{}'", stream)));
  v1::StreamRecord head;
  if (!head.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(
        fmt::format("event store: the head record of stream '{}' is corrupt; "
                    "restore the store from a backup",
                    stream));
  }
  return head;
}

absl::StatusOr<v1::StreamRecord> RocksDbEventStore::ReadLiveHead(
    std::string_view stream, const rocksdb::Snapshot* snapshot) const {
  ASSIGN_OR_RETURN(v1::StreamRecord head, ReadHead(stream, snapshot));
  if (head.deleted_at_version() != 0) {
    return StreamDeleted(stream, head.deleted_at_version());
  }
  return head;
}

absl::StatusOr<std::optional<v1::RequestRecord>> RocksDbEventStore::ReadRequest(
    std::string_view request_id) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), requests_, request_id, &value);
  if (status.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocksDb(status, "reading a request_id"));
  v1::RequestRecord record;
  if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(
        fmt::format("event store: the record of request_id '{}' is corrupt; "
                    "restore the store from a backup",
                    request_id));
  }
  if (absl::FromUnixMicros(record.recorded_at_micros()) +
          options_.idempotency_window <
      options_.clock()) {
    return std::nullopt;
  }
  return record;
}

absl::StatusOr<std::optional<AppendResult>> RocksDbEventStore::LookupRequest(
    std::string_view request_id) const {
  if (request_id.empty()) {
    return absl::InvalidArgumentError("request_id is empty");
  }
  ASSIGN_OR_RETURN(std::optional<v1::RequestRecord> record,
                   ReadRequest(request_id));
  if (!record.has_value()) return std::nullopt;
  return ToAppendResult(*record);
}

absl::StatusOr<StreamSlice> RocksDbEventStore::ReadStream(
    std::string_view stream, Direction direction, uint64_t from_version,
    size_t max_count) const {
  RETURN_IF_ERROR(ValidateStreamName(stream, options_.max_stream_name_bytes));
  if (max_count == 0) {
    return absl::InvalidArgumentError("max_count must be at least 1");
  }
  max_count = std::min(max_count, options_.max_read_count);
  rocksdb::ManagedSnapshot snapshot(db_.get());
  ASSIGN_OR_RETURN(v1::StreamRecord head,
                   ReadLiveHead(stream, snapshot.snapshot()));
  const uint64_t last = head.last_version();
  StreamSlice slice;
  slice.last_version = last;

  // The versions to read: [low, high], walked from `first` towards the other
  // end.
  const bool forward = direction == Direction::kForward;
  uint64_t low = 0;
  uint64_t high = 0;
  if (forward) {
    low = std::max<uint64_t>(from_version, 1);
    if (low > last) {
      slice.next_version = low;
      return slice;
    }
    high = std::min<uint64_t>(last, low + max_count - 1);
  } else {
    high = std::min(from_version, last);
    if (high == 0) return slice;
    low = high >= max_count ? high - max_count + 1 : 1;
  }

  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot.snapshot();
  const std::string lower = StreamIndexKey(stream, low);
  const std::string upper = StreamIndexKey(stream, high + 1);
  rocksdb::Slice lower_bound(lower);
  rocksdb::Slice upper_bound(upper);
  read_options.iterate_lower_bound = &lower_bound;
  read_options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(read_options, stream_index_));
  if (forward) {
    it->SeekToFirst();
  } else {
    it->SeekToLast();
  }
  size_t bytes = 0;
  rocksdb::PinnableSlice value;
  for (; it->Valid() && slice.events.size() < max_count &&
         bytes < options_.max_read_bytes;
       forward ? it->Next() : it->Prev()) {
    value.Reset();
    rocksdb::Status status = db_->Get(read_options, log_, it->value(), &value);
    if (!status.ok()) {
      return status.IsNotFound()
                 ? absl::DataLossError(fmt::format(
                       "event store: stream '{}' indexes an event missing from "
                       "the log; restore the store from a backup",
                       stream))
                 : FromRocksDb(status, "reading the log");
    }
    Envelope& event = slice.events.emplace_back();
    if (!event.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError(
          fmt::format("event store: an event of stream '{}' is corrupt; "
                      "restore the store from a backup",
                      stream));
    }
    bytes += value.size();
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading a stream index"));
  if (slice.events.empty()) {
    return absl::DataLossError(
        fmt::format("event store: the index of stream '{}' is missing "
                    "versions; restore the store from a backup",
                    stream));
  }
  const uint64_t reached = slice.events.back().stream_version();
  slice.end_of_stream = forward ? reached >= last : reached <= 1;
  slice.next_version = forward ? reached + 1 : reached - 1;
  return slice;
}

template <typename Slice, typename Decode>
absl::Status RocksDbEventStore::ReadLogInto(uint64_t from_position,
                                            size_t max_count, Slice& slice,
                                            Decode decode) const {
  auto& events = slice.events;
  size_t count = 0;
  // Drops the events past `count`, keeping the memory of the others.
  auto finish = [&](absl::Status status) {
    events.resize(status.ok() ? count : 0);
    return status;
  };
  if (max_count == 0) {
    return finish(absl::InvalidArgumentError("max_count must be at least 1"));
  }
  max_count = std::min(max_count, options_.max_read_count);
  from_position = std::max<uint64_t>(from_position, 1);
  slice.next_position = from_position;
  // A scan of the log (subscriptions: projections catching up or
  // rebuilding, the relay) reads each block once: it leaves the block cache
  // to the blocks reads come back to, and reads the files ahead from its
  // first block on (RocksDB's own readahead starts at 8 KiB again in each
  // new iterator). Together 2.0 times the read-all rate of
  // `crm-bench projection` (docs/benchmarks.md).
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  read_options.readahead_size = 256 << 10;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, log_));
  size_t bytes = 0;
  for (it->Seek(EncodePosition(from_position));
       it->Valid() && count < max_count && bytes < options_.max_read_bytes;
       it->Next()) {
    const rocksdb::Slice value = it->value();
    if (count == events.size()) events.emplace_back();
    const std::optional<uint64_t> position = decode(value, events[count]);
    if (!position.has_value()) {
      return finish(absl::DataLossError(fmt::format(
          "event store: the event at global position {} is corrupt; restore "
          "the store from a backup",
          slice.next_position)));
    }
    ++count;
    bytes += value.size();
    slice.next_position = *position + 1;
  }
  RETURN_IF_ERROR(finish(FromRocksDb(it->status(), "reading the log")));
  slice.end_of_log = !it->Valid();
  return absl::OkStatus();
}

absl::Status RocksDbEventStore::ReadAllInto(uint64_t from_position,
                                            size_t max_count,
                                            AllSlice& slice) const {
  return ReadLogInto(from_position, max_count, slice,
                     [](const rocksdb::Slice& value,
                        Envelope& event) -> std::optional<uint64_t> {
                       if (!event.ParseFromArray(
                               value.data(), static_cast<int>(value.size()))) {
                         return std::nullopt;
                       }
                       return event.global_position();
                     });
}

absl::Status RocksDbEventStore::ReadAllRawInto(uint64_t from_position,
                                               size_t max_count,
                                               RawSlice& slice) const {
  return ReadLogInto(from_position, max_count, slice,
                     [](const rocksdb::Slice& value,
                        RawEvent& event) -> std::optional<uint64_t> {
                       event.envelope.assign(value.data(), value.size());
                       if (!DecodeRawFields(event.envelope, event))
                         return std::nullopt;
                       return event.global_position;
                     });
}

uint64_t RocksDbEventStore::LastPosition() const {
  absl::MutexLock lock(&position_mu_);
  return last_position_;
}

uint64_t RocksDbEventStore::WaitForPosition(uint64_t position,
                                            const std::atomic<bool>* cancelled,
                                            absl::Duration timeout) const {
  absl::MutexLock lock(&position_mu_);
  auto reached = [this, position, cancelled]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return last_position_ >= position || cancelled->load();
  };
  position_mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  return last_position_;
}

void RocksDbEventStore::WakeWaiters() const {
  // Releasing the mutex makes every waiter re-evaluate its condition.
  absl::MutexLock lock(&position_mu_);
}

absl::StatusOr<std::unique_ptr<Subscription>> RocksDbEventStore::SubscribeToAll(
    uint64_t from_position, SubscriptionOptions options) {
  if (options.max_batch_events == 0) {
    return absl::InvalidArgumentError(
        "SubscriptionOptions.max_batch_events must be at least 1");
  }
  return std::unique_ptr<Subscription>(
      new LogSubscription(*this, from_position, options));
}

// ---------------------------------------------------------------------------
// Stream metadata and snapshots

absl::StatusOr<StreamInfo> RocksDbEventStore::GetStreamInfo(
    std::string_view stream) const {
  RETURN_IF_ERROR(ValidateStreamName(stream, options_.max_stream_name_bytes));
  rocksdb::ManagedSnapshot snapshot(db_.get());
  ASSIGN_OR_RETURN(v1::StreamRecord head,
                   ReadHead(stream, snapshot.snapshot()));
  StreamInfo info;
  info.stream = std::string(stream);
  info.last_version = head.last_version();
  info.last_position = head.last_position();
  info.created_at = absl::FromUnixMicros(head.created_at_micros());
  info.deleted = head.deleted_at_version() != 0;
  info.deleted_at_version = head.deleted_at_version();
  if (info.deleted)
    info.deleted_at = absl::FromUnixMicros(head.deleted_at_micros());
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot.snapshot();
  rocksdb::PinnableSlice value;
  rocksdb::Status status =
      db_->Get(read_options, stream_metadata_, stream, &value);
  if (status.ok()) {
    v1::StreamMetadataRecord record;
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError(
          fmt::format("event store: the metadata of stream '{}' is corrupt; "
                      "set it again with SetStreamMetadata",
                      stream));
    }
    info.metadata.insert(record.entries().begin(), record.entries().end());
  } else if (!status.IsNotFound()) {
    return FromRocksDb(status, "reading stream metadata");
  }
  return info;
}

absl::Status RocksDbEventStore::SetStreamMetadata(
    std::string_view stream, std::map<std::string, std::string> metadata) {
  RETURN_IF_ERROR(ValidateStreamName(stream, options_.max_stream_name_bytes));
  if (metadata.size() > kMaxMetadataEntries) {
    return absl::InvalidArgumentError(
        fmt::format("stream metadata has {} entries; the limit is {}",
                    metadata.size(), kMaxMetadataEntries));
  }
  v1::StreamMetadataRecord record;
  for (auto& [key, value] : metadata) {
    if (key.empty() || key.size() > kMaxMetadataBytes ||
        value.size() > kMaxMetadataBytes) {
      return absl::InvalidArgumentError(
          fmt::format("stream metadata key '{}' is empty, or it or its value "
                      "is over {} bytes",
                      key.substr(0, 64), kMaxMetadataBytes));
    }
    (*record.mutable_entries())[key] = std::move(value);
  }
  absl::MutexLock lock(&metadata_mu_);
  RETURN_IF_ERROR(ReadLiveHead(stream, nullptr).status());
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  return FromRocksDb(db_->Put(write_options, stream_metadata_, stream,
                              record.SerializeAsString()),
                     "writing stream metadata");
}

absl::Status RocksDbEventStore::WriteSnapshot(std::string_view stream,
                                              uint64_t version,
                                              std::string state) {
  RETURN_IF_ERROR(ValidateStreamName(stream, options_.max_stream_name_bytes));
  if (version == 0) {
    return absl::InvalidArgumentError(
        "snapshot version is 0; snapshot a stream at a version >= 1");
  }
  if (state.size() > options_.max_snapshot_bytes) {
    return absl::InvalidArgumentError(
        fmt::format("snapshot of stream '{}' is {} bytes; the limit is {} "
                    "(max_snapshot_bytes)",
                    stream, state.size(), options_.max_snapshot_bytes));
  }
  absl::MutexLock lock(&snapshot_mu_);
  ASSIGN_OR_RETURN(v1::StreamRecord head, ReadLiveHead(stream, nullptr));
  if (version > head.last_version()) {
    return absl::OutOfRangeError(fmt::format(
        "snapshot version {} is past the end of stream '{}' (version {})",
        version, stream, head.last_version()));
  }
  rocksdb::PinnableSlice existing;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), snapshots_, stream, &existing);
  if (status.ok()) {
    v1::SnapshotRecord stored;
    if (stored.ParseFromArray(existing.data(),
                              static_cast<int>(existing.size())) &&
        stored.version() > version) {
      return absl::OkStatus();  // A newer snapshot is kept.
    }
  } else if (!status.IsNotFound()) {
    return FromRocksDb(status, "reading a snapshot");
  }
  v1::SnapshotRecord record;
  record.set_version(version);
  record.set_state(std::move(state));
  record.set_recorded_at_micros(NowMicros());
  return FromRocksDb(db_->Put(rocksdb::WriteOptions(), snapshots_, stream,
                              record.SerializeAsString()),
                     "writing a snapshot");
}

absl::StatusOr<Snapshot> RocksDbEventStore::ReadSnapshot(
    std::string_view stream) const {
  RETURN_IF_ERROR(ValidateStreamName(stream, options_.max_stream_name_bytes));
  rocksdb::ManagedSnapshot snapshot(db_.get());
  RETURN_IF_ERROR(ReadLiveHead(stream, snapshot.snapshot()).status());
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot.snapshot();
  rocksdb::PinnableSlice value;
  rocksdb::Status status = db_->Get(read_options, snapshots_, stream, &value);
  if (status.IsNotFound()) {
    return absl::NotFoundError(
        fmt::format("stream '{}' has no snapshot", stream));
  }
  RETURN_IF_ERROR(FromRocksDb(status, "reading a snapshot"));
  v1::SnapshotRecord record;
  if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(fmt::format(
        "event store: the snapshot of stream '{}' is corrupt; write a new one",
        stream));
  }
  Snapshot result;
  result.version = record.version();
  result.state = std::move(*record.mutable_state());
  result.recorded_at = absl::FromUnixMicros(record.recorded_at_micros());
  return result;
}

absl::StatusOr<rocksdb::ColumnFamilyHandle*>
RocksDbEventStore::CreateColumnFamily(std::string_view name) {
  const std::string family(name);
  if (family.empty() || family == rocksdb::kDefaultColumnFamilyName ||
      family.rfind(kReservedFamilyPrefix, 0) == 0) {
    return absl::InvalidArgumentError(fmt::format(
        "column family '{}' is empty, 'default' or starts with the reserved "
        "prefix 'es_'; choose another name",
        family));
  }
  absl::MutexLock lock(&families_mu_);
  if (auto it = extra_.find(family); it != extra_.end()) return it->second;
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  RETURN_IF_ERROR(FromRocksDb(
      db_->CreateColumnFamily(extra_family_options_, family, &handle),
      fmt::format("creating column family '{}'", family)));
  handles_.push_back(handle);
  extra_[family] = handle;
  return handle;
}

absl::Status RocksDbEventStore::DropColumnFamily(std::string_view name) {
  const std::string family(name);
  absl::MutexLock purge_lock(&purge_mu_);
  absl::MutexLock lock(&families_mu_);
  auto it = extra_.find(family);
  if (it == extra_.end()) {
    if (family == rocksdb::kDefaultColumnFamilyName ||
        family.rfind(kReservedFamilyPrefix, 0) == 0) {
      return absl::InvalidArgumentError(fmt::format(
          "column family '{}' belongs to the store and cannot be dropped",
          family));
    }
    return absl::NotFoundError(
        fmt::format("there is no column family '{}' to drop", family));
  }
  rocksdb::ColumnFamilyHandle* handle = it->second;
  RETURN_IF_ERROR(
      FromRocksDb(db_->DropColumnFamily(handle),
                  fmt::format("dropping column family '{}'", family)));
  extra_.erase(it);
  handles_.erase(std::find(handles_.begin(), handles_.end(), handle));
  return FromRocksDb(db_->DestroyColumnFamilyHandle(handle),
                     fmt::format("closing column family '{}'", family));
}

namespace {

// Names of the WAL, SST and MANIFEST files in `directory`.
std::vector<std::string> DataFiles(const std::string& directory) {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    const bool data = name.ends_with(".log") || name.ends_with(".sst") ||
                      name.starts_with("MANIFEST-");
    if (data) files.push_back(name);
  }
  return files;
}

}  // namespace

absl::StatusOr<absl::flat_hash_set<std::string>>
RocksDbEventStore::LiveFileNames() const {
  std::vector<std::string> files;
  uint64_t manifest_bytes = 0;
  RETURN_IF_ERROR(FromRocksDb(
      db_->GetLiveFiles(files, &manifest_bytes, /*flush_memtable=*/false),
      "listing the live files"));
  rocksdb::VectorLogPtr wal_files;
  RETURN_IF_ERROR(
      FromRocksDb(db_->GetSortedWalFiles(wal_files), "listing the WAL files"));
  absl::flat_hash_set<std::string> live;
  for (const std::string& file : files) {
    live.insert(std::filesystem::path(file).filename().string());
  }
  for (const auto& wal : wal_files) {
    live.insert(std::filesystem::path(wal->PathName()).filename().string());
  }
  // GetSortedWalFiles leaves out an empty WAL file, such as the one a flush
  // has just started.
  std::unique_ptr<rocksdb::LogFile> current;
  RETURN_IF_ERROR(FromRocksDb(db_->GetCurrentWalFile(&current),
                              "finding the current WAL file"));
  live.insert(std::filesystem::path(current->PathName()).filename().string());
  return live;
}

absl::Status RocksDbEventStore::PurgeDeletedData(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock purge_lock(&purge_mu_);
  std::vector<rocksdb::ColumnFamilyHandle*> all;
  std::vector<rocksdb::ColumnFamilyHandle*> extra;
  {
    absl::MutexLock lock(&families_mu_);
    all = handles_;
    for (const auto& [name, handle] : extra_) extra.push_back(handle);
  }
  rocksdb::FlushOptions flush;
  flush.wait = true;
  flush.allow_write_stall = true;
  RETURN_IF_ERROR(FromRocksDb(db_->Flush(flush, all),
                              "flushing every column family to purge"));
  rocksdb::CompactRangeOptions compact;
  compact.exclusive_manual_compaction = false;
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* handle : extra) {
    RETURN_IF_ERROR(
        FromRocksDb(db_->CompactRange(compact, handle, nullptr, nullptr),
                    fmt::format("compacting column family '{}' to purge",
                                handle->GetName())));
  }
  // One more change of the file set, after the compactions, so that the
  // MANIFEST is rewritten from the purged files only (max_manifest_file_size
  // makes every change start a new one): rewrite the format version (the
  // same value) and flush it.
  rocksdb::WriteOptions synced;
  synced.sync = true;
  RETURN_IF_ERROR(FromRocksDb(
      db_->Put(synced, kFormatVersionKey, fmt::format("{}", kFormatVersion)),
      "rewriting the format version to purge"));
  RETURN_IF_ERROR(FromRocksDb(db_->Flush(flush, db_->DefaultColumnFamily()),
                              "flushing the default column family to purge"));
  // RocksDB deletes the files a flush or compaction made obsolete on its
  // background thread, possibly after the calls above returned: wait for
  // the directory to hold live files only.
  std::vector<std::string> obsolete;
  while (true) {
    // Listed first: a file made after the listing is not looked at, and
    // one made after it but before the live set is read is in both.
    const std::vector<std::string> listed = DataFiles(options_.path);
    absl::StatusOr<absl::flat_hash_set<std::string>> live = LiveFileNames();
    // A WAL file deleted while it was being listed fails the listing:
    // look again.
    if (!live.ok() && absl::Now() >= deadline) return live.status();
    obsolete.clear();
    for (const std::string& name : listed) {
      if (!live.ok() || !live->contains(name)) obsolete.push_back(name);
    }
    if (obsolete.empty()) return absl::OkStatus();
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::UnavailableError(fmt::format(
      "event store: {} obsolete file(s) still on disk after the purge (first: "
      "{}); file deletions may be disabled by a backup in progress; retry "
      "once it ends",
      obsolete.size(), obsolete.front()));
}

absl::StatusOr<rocksdb::ColumnFamilyHandle*> RocksDbEventStore::ColumnFamily(
    std::string_view name) const {
  absl::MutexLock lock(&families_mu_);
  auto it = extra_.find(std::string(name));
  if (it == extra_.end()) {
    return absl::NotFoundError(fmt::format(
        "column family '{}' was not named in Options.extra_column_families",
        name));
  }
  return it->second;
}

EventStoreStats RocksDbEventStore::stats() const {
  EventStoreStats stats;
  stats.appends = stats_.appends.load();
  stats.events = stats_.events.load();
  stats.bytes = stats_.bytes.load();
  stats.commit_groups = stats_.commit_groups.load();
  stats.conflicts = stats_.conflicts.load();
  stats.deduplicated = stats_.deduplicated.load();
  stats.sync_micros = stats_.sync_micros.load();
  return stats;
}

}  // namespace internal
}  // namespace crm::eventstore
