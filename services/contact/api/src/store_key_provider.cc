#include "crm/contact/api/store_key_provider.h"

#include <algorithm>
#include <optional>
#include <string>

#include "crm/base/status_macros.h"
#include "crm/contact/domain/sealer.h"
#include "crm/eventstore/rocksdb_status.h"
#include "fmt/format.h"
#include "openssl/rand.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace crm::contact::api {
namespace {

// The value of a deleted key: shorter than any key, so never a key.
constexpr std::string_view kErasedMarker = "erased";

}  // namespace

absl::StatusOr<std::optional<DataKey>> StoreKeyProvider::Read(
    std::string_view key_id) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * family,
                   store_->CreateColumnFamily(kKeyColumnFamily));
  std::string value;
  const rocksdb::Status read =
      store_->db().Get(rocksdb::ReadOptions(), family,
                       rocksdb::Slice(key_id.data(), key_id.size()), &value);
  if (read.IsNotFound()) return std::nullopt;
  if (!read.ok()) {
    return absl::UnavailableError(fmt::format(
        "reading data key {} failed: {}; check the data directory's disk",
        key_id, read.ToString()));
  }
  if (value == kErasedMarker) return KeyErasedError(key_id);
  DataKey key;
  if (value.size() != key.size()) {
    return absl::DataLossError(fmt::format(
        "data key {} has {} bytes, not {}; the key store is damaged", key_id,
        value.size(), key.size()));
  }
  std::copy(value.begin(), value.end(), key.begin());
  return key;
}

absl::StatusOr<DataKey> StoreKeyProvider::Get(std::string_view key_id) {
  ASSIGN_OR_RETURN(std::optional<DataKey> key, Read(key_id));
  if (!key.has_value()) {
    return absl::NotFoundError(
        fmt::format("no data key {}: nothing was sealed under it", key_id));
  }
  return *key;
}

absl::StatusOr<DataKey> StoreKeyProvider::GetOrCreate(std::string_view key_id) {
  ASSIGN_OR_RETURN(std::optional<DataKey> key, Read(key_id));
  if (key.has_value()) return *key;
  absl::MutexLock lock(&create_mutex_);
  ASSIGN_OR_RETURN(key, Read(key_id));  // Another caller may have made it.
  if (key.has_value()) return *key;
  DataKey made;
  if (RAND_bytes(made.data(), static_cast<int>(made.size())) != 1) {
    return absl::InternalError(
        "the random source failed to make a data key; retry");
  }
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * family,
                   store_->CreateColumnFamily(kKeyColumnFamily));
  rocksdb::WriteBatch batch;
  batch.Put(
      family, rocksdb::Slice(key_id.data(), key_id.size()),
      rocksdb::Slice(reinterpret_cast<const char*>(made.data()), made.size()));
  RETURN_IF_ERROR(store_->Write(batch));
  return made;
}

absl::Status StoreKeyProvider::Delete(std::string_view key_id) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * family,
                   store_->CreateColumnFamily(kKeyColumnFamily));
  absl::MutexLock lock(&create_mutex_);
  rocksdb::WriteBatch batch;
  batch.Put(family, rocksdb::Slice(key_id.data(), key_id.size()),
            rocksdb::Slice(kErasedMarker.data(), kErasedMarker.size()));
  return store_->Write(batch);
}

}  // namespace crm::contact::api
