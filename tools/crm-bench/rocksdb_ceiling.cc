#include "rocksdb_ceiling.h"

#include <atomic>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/options_util.h"
#include "rocksdb/write_batch.h"
#include "run_control.h"

namespace crm::bench {
namespace {

constexpr size_t kBlockCacheBytes = 64 << 20;

absl::Status FromRocks(const rocksdb::Status& status, const std::string& what) {
  if (status.ok()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(what, ": ", status.ToString()));
}

std::string BigEndian64(uint64_t value) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[static_cast<size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return key;
}

// The options `path` was last opened with, or RocksDB's defaults for each of
// its column families when its OPTIONS file does not load.
absl::Status LoadOptions(const std::string& path,
                         const std::shared_ptr<rocksdb::Cache>& cache,
                         rocksdb::DBOptions* db_options,
                         std::vector<rocksdb::ColumnFamilyDescriptor>* cfs) {
  rocksdb::ConfigOptions config;
  config.ignore_unknown_options = true;
  std::shared_ptr<rocksdb::Cache> shared = cache;
  rocksdb::Status loaded =
      rocksdb::LoadLatestOptions(config, path, db_options, cfs, &shared);
  if (loaded.ok()) return absl::OkStatus();
  Log("%s: OPTIONS file not loaded (%s); using RocksDB defaults", path,
      loaded.ToString());
  *db_options = rocksdb::DBOptions();
  cfs->clear();
  std::vector<std::string> names;
  if (absl::Status listed =
          FromRocks(rocksdb::DB::ListColumnFamilies(*db_options, path, &names),
                    absl::StrCat("listing the column families of ", path));
      !listed.ok()) {
    return listed;
  }
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  for (const std::string& name : names) {
    rocksdb::ColumnFamilyOptions cf_options;
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cfs->emplace_back(name, cf_options);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<RawDb>> RawDb::Open(const std::string& path,
                                                   bool read_only) {
  rocksdb::DBOptions db_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  absl::Status loaded = LoadOptions(
      path, rocksdb::NewLRUCache(kBlockCacheBytes), &db_options, &cfs);
  if (!loaded.ok()) return loaded;
  db_options.create_if_missing = false;

  std::unique_ptr<RawDb> raw(new RawDb());
  rocksdb::DB* db = nullptr;
  const absl::Time start = absl::Now();
  rocksdb::Status opened =
      read_only ? rocksdb::DB::OpenForReadOnly(db_options, path, cfs,
                                               &raw->handles_, &db)
                : rocksdb::DB::Open(db_options, path, cfs, &raw->handles_, &db);
  raw->open_time_ = absl::Now() - start;
  if (absl::Status status = FromRocks(opened, absl::StrCat("opening ", path));
      !status.ok()) {
    return status;
  }
  raw->db_.reset(db);
  for (const rocksdb::ColumnFamilyDescriptor& cf : cfs) {
    raw->names_.push_back(cf.name);
  }
  return raw;
}

RawDb::~RawDb() {
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  db_.reset();
}

absl::StatusOr<rocksdb::ColumnFamilyHandle*> RawDb::ColumnFamily(
    const std::string& name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return handles_[i];
  }
  return absl::NotFoundError(
      absl::StrCat("no column family '", name,
                   "'; the database has: ", absl::StrJoin(names_, ", "),
                   " (pass the log's name with --log-column-family)"));
}

absl::StatusOr<TimedRun> RawSyncedWrites(const std::string& path,
                                         const RawWriteLoad& load,
                                         const PayloadPool& payloads) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  rocksdb::DB* opened = nullptr;
  if (absl::Status status = FromRocks(rocksdb::DB::Open(options, path, &opened),
                                      absl::StrCat("creating ", path));
      !status.ok()) {
    return status;
  }
  std::unique_ptr<rocksdb::DB> db(opened);
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  std::atomic<uint64_t> next_key{1};

  return RunTimedWriters(
      load.writers, load.duration,
      [&](std::mt19937_64& rng) -> absl::StatusOr<uint64_t> {
        rocksdb::WriteBatch batch;
        for (size_t i = 0; i < load.puts_per_write; ++i) {
          rocksdb::Status put = batch.Put(
              BigEndian64(next_key.fetch_add(1, std::memory_order_relaxed)),
              payloads.Take(rng, load.value_bytes));
          if (!put.ok()) return FromRocks(put, "WriteBatch::Put");
        }
        if (absl::Status status = FromRocks(db->Write(write_options, &batch),
                                            "synced RocksDB write");
            !status.ok()) {
          return status;
        }
        return static_cast<uint64_t>(load.puts_per_write);
      });
}

absl::StatusOr<ScanRun> RawScan(const std::string& path,
                                const std::string& column_family) {
  absl::StatusOr<std::unique_ptr<RawDb>> raw =
      RawDb::Open(path, /*read_only=*/true);
  if (!raw.ok()) return raw.status();
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> cf =
      (*raw)->ColumnFamily(column_family);
  if (!cf.ok()) return cf.status();

  ScanRun run;
  const absl::Time start = absl::Now();
  std::unique_ptr<rocksdb::Iterator> it(
      (*raw)->db().NewIterator(rocksdb::ReadOptions(), *cf));
  for (it->SeekToFirst(); it->Valid() && !StopRequested(); it->Next()) {
    ++run.entries;
    run.bytes += it->key().size() + it->value().size();
  }
  run.elapsed = absl::Now() - start;
  if (StopRequested()) return absl::CancelledError("stopped by a signal");
  if (absl::Status status =
          FromRocks(it->status(), absl::StrCat("scanning ", column_family));
      !status.ok()) {
    return status;
  }
  return run;
}

absl::StatusOr<absl::Duration> RawOpenTime(const std::string& path) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<RawDb>> raw =
      RawDb::Open(path, /*read_only=*/false);
  const absl::Duration elapsed = absl::Now() - start;
  if (!raw.ok()) return raw.status();
  Log("raw open %s: %.3f s, of which DB::Open %.3f s", path,
      absl::ToDoubleSeconds(elapsed),
      absl::ToDoubleSeconds((*raw)->open_time()));
  return elapsed;
}

uint64_t WalBytes(const std::string& path) {
  uint64_t total = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
    if (entry.path().extension() == ".log" && entry.is_regular_file(error)) {
      total += entry.file_size(error);
    }
  }
  return total;
}

}  // namespace crm::bench
