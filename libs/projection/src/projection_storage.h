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
std::string PositionKey(std::string_view name, uint32_t version);

// A global position as 8 bytes big-endian: the local log's checkpoint and
// the value of a PositionKey.
std::string EncodeCheckpoint(uint64_t position);
// nullopt unless `bytes` is 8 bytes long.
std::optional<uint64_t> DecodeCheckpoint(std::string_view bytes);

// The source checkpoint a version has committed; empty when none.
// Errors: UNAVAILABLE.
absl::StatusOr<std::string> ReadCheckpoint(rocksdb::DB& db,
                                           rocksdb::ColumnFamilyHandle& catalog,
                                           const std::string& name,
                                           uint32_t version);

// The source position a version's committed state reflects, read at
// `snapshot` (nullptr = the latest); 0 when it has applied nothing.
// Errors: DATA_LOSS when it is corrupt; UNAVAILABLE.
absl::StatusOr<uint64_t> ReadPosition(
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
