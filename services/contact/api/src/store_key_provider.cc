#include "crm/contact/api/store_key_provider.h"

#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

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

// Holds several mutexes, locked in the order given and unlocked in reverse.
// Callers give them in one order for the whole process (ascending stripe),
// so two holders never wait for each other in a cycle.
class StripeLocks {
 public:
  explicit StripeLocks(std::vector<absl::Mutex*> mutexes)
      ABSL_NO_THREAD_SAFETY_ANALYSIS : mutexes_(std::move(mutexes)) {
    for (absl::Mutex* mutex : mutexes_) mutex->Lock();
  }
  ~StripeLocks() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (auto it = mutexes_.rbegin(); it != mutexes_.rend(); ++it) {
      (*it)->Unlock();
    }
  }
  StripeLocks(const StripeLocks&) = delete;
  StripeLocks& operator=(const StripeLocks&) = delete;

 private:
  std::vector<absl::Mutex*> mutexes_;
};

}  // namespace

size_t StoreKeyProvider::StripeOf(std::string_view key_id) {
  return std::hash<std::string_view>{}(key_id) % kLockStripes;
}

absl::Mutex& StoreKeyProvider::Stripe(size_t stripe) {
  // Never destroyed: a provider may run while the process exits.
  static auto* const stripes = new std::array<absl::Mutex, kLockStripes>();
  return (*stripes)[stripe];
}

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
  absl::MutexLock lock(&LockFor(key_id));
  ASSIGN_OR_RETURN(key, Read(key_id));  // Another caller may have made it.
  if (key.has_value()) return *key;
  ASSIGN_OR_RETURN(DataKey made, NewKey());
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * family,
                   store_->CreateColumnFamily(kKeyColumnFamily));
  rocksdb::WriteBatch batch;
  batch.Put(
      family, rocksdb::Slice(key_id.data(), key_id.size()),
      rocksdb::Slice(reinterpret_cast<const char*>(made.data()), made.size()));
  // Unsynced: a key is only ever used by events appended after it to the
  // same store, and an append is synced through the same WAL, which makes
  // this write durable with it. A key whose append never came may be lost
  // in a machine crash, and nothing was sealed under it. (Syncing here cost
  // a second fsync on every new person's path.)
  RETURN_IF_ERROR(
      store_->Write(batch, eventstore::EventStore::Durability::kUnsynced));
  return made;
}

absl::StatusOr<DataKey> StoreKeyProvider::NewKey() {
  DataKey made;
  if (RAND_bytes(made.data(), static_cast<int>(made.size())) != 1) {
    return absl::InternalError(
        "the random source failed to make a data key; retry");
  }
  return made;
}

absl::StatusOr<StoreKeyProvider::KeyResults> StoreKeyProvider::CreateKeys(
    const std::map<std::string, DataKey, std::less<>>& keys,
    eventstore::EventStore::Durability durability) {
  KeyResults results;
  if (keys.empty()) return results;
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * family,
                   store_->CreateColumnFamily(kKeyColumnFamily));
  std::set<size_t> stripes;  // Ascending.
  for (const auto& entry : keys) stripes.insert(StripeOf(entry.first));
  std::vector<absl::Mutex*> mutexes;
  mutexes.reserve(stripes.size());
  for (size_t stripe : stripes) mutexes.push_back(&Stripe(stripe));
  StripeLocks lock(std::move(mutexes));
  rocksdb::WriteBatch batch;
  for (const auto& [key_id, key] : keys) {
    absl::StatusOr<std::optional<DataKey>> stored = Read(key_id);
    if (IsKeyErased(stored.status())) {
      results.emplace(key_id, stored.status());
      continue;
    }
    RETURN_IF_ERROR(stored.status());
    if (stored->has_value()) {  // Never replaced.
      results.emplace(key_id, **stored);
      continue;
    }
    batch.Put(
        family, key_id,
        rocksdb::Slice(reinterpret_cast<const char*>(key.data()), key.size()));
    results.emplace(key_id, key);
  }
  if (batch.Count() > 0) RETURN_IF_ERROR(store_->Write(batch, durability));
  return results;
}

absl::Status StoreKeyProvider::Delete(std::string_view key_id) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * family,
                   store_->CreateColumnFamily(kKeyColumnFamily));
  absl::MutexLock lock(&LockFor(key_id));
  rocksdb::WriteBatch batch;
  batch.Put(family, rocksdb::Slice(key_id.data(), key_id.size()),
            rocksdb::Slice(kErasedMarker.data(), kErasedMarker.size()));
  return store_->Write(batch);
}

absl::StatusOr<DataKey> StagedKeyProvider::GetOrCreate(
    std::string_view key_id) {
  {
    absl::MutexLock lock(&mutex_);
    if (auto staged = staged_.find(key_id); staged != staged_.end()) {
      return staged->second;
    }
  }
  absl::StatusOr<DataKey> stored = stored_.Get(key_id);
  if (!absl::IsNotFound(stored.status())) return stored;
  ASSIGN_OR_RETURN(DataKey made, StoreKeyProvider::NewKey());
  absl::MutexLock lock(&mutex_);
  // A caller of the same id in between made one first: share it.
  return staged_.try_emplace(std::string(key_id), made).first->second;
}

absl::StatusOr<DataKey> StagedKeyProvider::Get(std::string_view key_id) {
  {
    absl::MutexLock lock(&mutex_);
    if (auto staged = staged_.find(key_id); staged != staged_.end()) {
      return staged->second;
    }
  }
  return stored_.Get(key_id);
}

absl::Status StagedKeyProvider::Delete(std::string_view key_id) {
  return absl::FailedPreconditionError(fmt::format(
      "a staged key provider only makes keys and cannot delete {}; erase "
      "the contact with EraseContact",
      key_id));
}

absl::StatusOr<std::set<std::string>> StagedKeyProvider::Commit(
    eventstore::EventStore::Durability durability) {
  std::map<std::string, DataKey, std::less<>> staged;
  {
    absl::MutexLock lock(&mutex_);
    staged = staged_;
  }
  ASSIGN_OR_RETURN(StoreKeyProvider::KeyResults stored,
                   stored_.CreateKeys(staged, durability));
  std::set<std::string> conflicts;
  for (const auto& [key_id, key] : staged) {
    const absl::StatusOr<DataKey>& now = stored.at(key_id);
    if (!now.ok() || *now != key) conflicts.insert(key_id);
  }
  absl::MutexLock lock(&mutex_);
  for (const auto& entry : staged) staged_.erase(entry.first);
  return conflicts;
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
