#include "crm/contact/api/store_key_provider.h"

#include <algorithm>
#include <optional>
#include <string>

#include "crm/base/status_macros.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_events.pb.h"
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

eventstore::CommitHook KeyErasureCommitHook(
    std::function<eventstore::EventStore*()> store) {
  return [store = std::move(store)](
             const std::vector<eventstore::Envelope>& events,
             rocksdb::WriteBatch& batch) -> absl::Status {
    const std::string& erased_type =
        v1::ContactErased::descriptor()->full_name();
    for (const eventstore::Envelope& event : events) {
      if (event.type() != erased_type) continue;
      v1::ContactErased erased;
      if (!erased.ParseFromString(event.payload())) {
        return absl::InternalError(fmt::format(
            "ContactErased of stream {} does not parse; nothing was appended; "
            "report this bug",
            event.stream()));
      }
      absl::StatusOr<rocksdb::ColumnFamilyHandle*> family =
          store()->ColumnFamily(kKeyColumnFamily);
      if (!family.ok()) {
        return absl::UnavailableError(fmt::format(
            "the key store (column family {}) is missing, so the keys of an "
            "erasure cannot be deleted; open the store with it in "
            "extra_column_families",
            kKeyColumnFamily));
      }
      for (const std::string& key_id : erased.shredded_key_ids()) {
        batch.Put(*family, key_id,
                  rocksdb::Slice(kErasedMarker.data(), kErasedMarker.size()));
      }
    }
    return absl::OkStatus();
  };
}

}  // namespace crm::contact::api
