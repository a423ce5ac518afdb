#include "projection_storage.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "crm/base/status_macros.h"
#include "crm/projection/projection.h"
#include "fmt/format.h"
#include "rocksdb/db.h"

namespace crm::projection {

absl::Status ValidateProjection(std::string_view name, uint32_t version) {
  bool valid = !name.empty() && name.size() <= 64;
  for (char c : name) {
    valid = valid &&
            (absl::ascii_islower(static_cast<unsigned char>(c)) ||
             absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_');
  }
  if (!valid) {
    return absl::InvalidArgumentError(fmt::format(
        "projection name '{}' must be 1 to 64 characters of a-z, 0-9 and _",
        name));
  }
  if (version == 0) {
    return absl::InvalidArgumentError(fmt::format(
        "projection '{}' has version 0; versions start at 1", name));
  }
  return absl::OkStatus();
}

std::string FamilyName(std::string_view name, uint32_t version) {
  return fmt::format("proj_{}_v{}", name, version);
}

std::string ServingKey(std::string_view name) {
  return fmt::format("serving/{}", name);
}

std::string CheckpointKey(std::string_view name, uint32_t version) {
  return fmt::format("checkpoint/{}/{}", name, version);
}

std::string PositionKey(std::string_view name, uint32_t version) {
  return fmt::format("position/{}/{}", name, version);
}

std::string EncodeCheckpoint(uint64_t position) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>((position >> (56 - 8 * i)) & 0xff);
  }
  return bytes;
}

std::optional<uint64_t> DecodeCheckpoint(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t position = 0;
  for (char c : bytes) position = (position << 8) | static_cast<uint8_t>(c);
  return position;
}

absl::StatusOr<std::string> ReadCheckpoint(rocksdb::DB& db,
                                           rocksdb::ColumnFamilyHandle& catalog,
                                           const std::string& name,
                                           uint32_t version) {
  std::string checkpoint;
  rocksdb::Status status = db.Get(rocksdb::ReadOptions(), &catalog,
                                  CheckpointKey(name, version), &checkpoint);
  if (status.IsNotFound()) return std::string();
  RETURN_IF_ERROR(FromRocksDb(status, "reading a projection checkpoint"));
  return checkpoint;
}

absl::StatusOr<uint64_t> ReadPosition(rocksdb::DB& db,
                                      rocksdb::ColumnFamilyHandle& catalog,
                                      const std::string& name, uint32_t version,
                                      const rocksdb::Snapshot* snapshot) {
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  std::string value;
  rocksdb::Status status =
      db.Get(read_options, &catalog, PositionKey(name, version), &value);
  if (status.IsNotFound()) {
    // Versions committed before sources were pluggable have no position
    // key: they followed the local log, whose checkpoint is the position.
    status =
        db.Get(read_options, &catalog, CheckpointKey(name, version), &value);
    if (status.IsNotFound()) return 0;
  }
  RETURN_IF_ERROR(FromRocksDb(status, "reading a projection's position"));
  std::optional<uint64_t> position = DecodeCheckpoint(value);
  if (!position.has_value()) {
    return absl::DataLossError(fmt::format(
        "the position of projection '{}' version {} is corrupt; drop the "
        "version's column family to rebuild it",
        name, version));
  }
  return *position;
}

absl::StatusOr<std::optional<uint32_t>> ReadServingVersion(
    rocksdb::DB& db, rocksdb::ColumnFamilyHandle& catalog,
    const std::string& name) {
  std::string value;
  rocksdb::Status status =
      db.Get(rocksdb::ReadOptions(), &catalog, ServingKey(name), &value);
  if (status.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocksDb(status, "reading a projection's version"));
  uint32_t version = 0;
  if (!absl::SimpleAtoi(value, &version) || version == 0) {
    return absl::DataLossError(
        fmt::format("the serving version of projection '{}' is corrupt ('{}')",
                    name, value));
  }
  return version;
}

absl::StatusOr<std::vector<uint32_t>> ListVersionFamilies(
    rocksdb::DB& db, const std::string& name) {
  std::vector<std::string> families;
  RETURN_IF_ERROR(
      FromRocksDb(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(),
                                                  db.GetName(), &families),
                  "listing column families"));
  const std::string prefix = fmt::format("proj_{}_v", name);
  std::vector<uint32_t> versions;
  for (const std::string& family : families) {
    uint32_t version = 0;
    if (family.rfind(prefix, 0) == 0 &&
        absl::SimpleAtoi(family.substr(prefix.size()), &version)) {
      versions.push_back(version);
    }
  }
  return versions;
}

}  // namespace crm::projection
