// The writes a projection version has applied but not committed yet, and
// the ProjectionWriter that stages them. Internal to the engine.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "crm/projection/projection.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace crm::projection {

// The last write of each key (a value, or a deletion). Lookups by hash, so
// a batch of many events costs one hash probe per access; the writes are
// sorted only once, when they go to RocksDB. Not thread-safe.
class StagedWrites {
 public:
  // nullptr when `key` has no staged write; else the staged value, nullopt
  // for a deletion. Valid until the next Put, Delete or Clear.
  const std::optional<std::string>* Find(std::string_view key) const;

  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);

  bool empty() const { return writes_.empty(); }
  // About the memory the staged writes take.
  size_t bytes() const { return bytes_; }

  // Adds the writes to `batch` for `family`, in key order (the cheapest
  // order to insert into RocksDB's memtable).
  void AppendTo(rocksdb::WriteBatch& batch,
                rocksdb::ColumnFamilyHandle* family) const;

  void Clear();

 private:
  absl::flat_hash_map<std::string, std::optional<std::string>> writes_;
  size_t bytes_ = 0;
};

// Stages Apply's writes in `staged`; reads look there first, then in the
// version's column family.
class StagingWriter final : public ProjectionWriter {
 public:
  StagingWriter(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family,
                StagedWrites& staged)
      : db_(db), family_(family), staged_(staged) {}

  absl::StatusOr<std::optional<std::string>> Get(
      std::string_view key) const override;
  void Put(std::string_view key, std::string_view value) override {
    staged_.Put(key, value);
  }
  void Delete(std::string_view key) override { staged_.Delete(key); }

 private:
  rocksdb::DB& db_;
  rocksdb::ColumnFamilyHandle& family_;
  StagedWrites& staged_;
};

}  // namespace crm::projection
