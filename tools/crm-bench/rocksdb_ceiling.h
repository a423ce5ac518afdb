// The ceilings of the event store benchmarks: the same work done directly on
// RocksDB, measured in the same run on the same filesystem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "payload_pool.h"
#include "timed_writers.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace crm::bench {

// An open RocksDB with all its column families; closes it when destroyed.
class RawDb {
 public:
  // Opens the existing database at `path` with every column family it has,
  // using the options of its latest OPTIONS file when they load (falling back
  // to RocksDB's defaults), and a 64 MiB block cache shared by all column
  // families, as the event store's default. Read-write opens replay the WAL.
  // Errors: UNAVAILABLE with RocksDB's message.
  static absl::StatusOr<std::unique_ptr<RawDb>> Open(const std::string& path,
                                                     bool read_only);
  ~RawDb();

  rocksdb::DB& db() { return *db_; }
  // How long the DB::Open call itself took (without loading the options).
  absl::Duration open_time() const { return open_time_; }
  // The handle of column family `name`. Errors: NOT_FOUND naming the column
  // families present.
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> ColumnFamily(
      const std::string& name) const;

 private:
  RawDb() = default;

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<std::string> names_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  absl::Duration open_time_;
};

struct RawWriteLoad {
  int writers = 1;
  size_t puts_per_write = 1;  // > 1: a WriteBatch of that many puts.
  size_t value_bytes = 256;
  absl::Duration duration;
};

// Creates a fresh database at `path` (RocksDB's default options) and runs
// load.writers threads, each committing synced writes (WriteOptions.sync)
// of load.puts_per_write puts with ascending 8-byte keys and random values,
// for load.duration. TimedRun::events counts puts.
absl::StatusOr<TimedRun> RawSyncedWrites(const std::string& path,
                                         const RawWriteLoad& load,
                                         const PayloadPool& payloads);

struct ScanRun {
  uint64_t entries = 0;
  uint64_t bytes = 0;  // Keys and values.
  absl::Duration elapsed;
};

// Opens `path` read-only and iterates column family `column_family` from
// first to last entry, touching every key and value.
absl::StatusOr<ScanRun> RawScan(const std::string& path,
                                const std::string& column_family);

// How long RawDb::Open(path, read_only=false) takes (replaying the WAL if the
// database was not closed cleanly). Closes the database afterwards.
absl::StatusOr<absl::Duration> RawOpenTime(const std::string& path);

// Total size in bytes of the WAL files (*.log) in `path`.
uint64_t WalBytes(const std::string& path);

}  // namespace crm::bench
