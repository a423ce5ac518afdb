// Where the projection engine keeps its catalog, checkpoints and versions in
// the service's RocksDB instance (see projection_engine.cc for the layout).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/eventstore/rocksdb_status.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Snapshot;
}  // namespace rocksdb

namespace crm::projection {

using eventstore::FromRocksDb;

inline constexpr char kCatalogFamily[] = "projection_catalog";

// INVALID_ARGUMENT unless `name` is 1-64 of [a-z0-9_] and version >= 1.
absl::Status ValidateProjection(std::string_view name, uint32_t version);

// "proj_<name>_v<version>": the column family of one version.
std::string FamilyName(std::string_view name, uint32_t version);
std::string ServingKey(std::string_view name);
std::string CheckpointKey(std::string_view name, uint32_t version);
std::string EncodeCheckpoint(uint64_t position);

// The checkpoint of a version; 0 when it has applied nothing.
absl::StatusOr<uint64_t> ReadCheckpoint(
    rocksdb::DB& db, rocksdb::ColumnFamilyHandle& catalog,
    const std::string& name, uint32_t version,
    const rocksdb::Snapshot* snapshot = nullptr);

// The serving version recorded for `name`, if any.
absl::StatusOr<std::optional<uint32_t>> ReadServingVersion(
    rocksdb::DB& db, rocksdb::ColumnFamilyHandle& catalog,
    const std::string& name);

// The versions of `name` that have a column family on disk.
absl::StatusOr<std::vector<uint32_t>> ListVersionFamilies(
    rocksdb::DB& db, const std::string& name);

}  // namespace crm::projection
