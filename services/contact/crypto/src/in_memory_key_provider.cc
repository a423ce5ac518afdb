#include "crm/contact/crypto/in_memory_key_provider.h"

#include "crm/contact/domain/sealer.h"
#include "fmt/format.h"
#include "openssl/rand.h"

namespace crm::contact {

absl::StatusOr<DataKey> InMemoryKeyProvider::GetOrCreate(
    std::string_view key_id) {
  absl::MutexLock lock(&mutex_);
  if (deleted_.count(key_id) > 0) return KeyErasedError(key_id);
  auto it = keys_.find(key_id);
  if (it != keys_.end()) return it->second;
  DataKey key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return absl::InternalError(
        "the random source failed while creating a data key; retry");
  }
  keys_.emplace(std::string(key_id), key);
  return key;
}

absl::StatusOr<DataKey> InMemoryKeyProvider::Get(std::string_view key_id) {
  absl::MutexLock lock(&mutex_);
  if (deleted_.count(key_id) > 0) return KeyErasedError(key_id);
  auto it = keys_.find(key_id);
  if (it == keys_.end()) {
    return absl::NotFoundError(fmt::format(
        "no data key {}: the data was sealed by another key store", key_id));
  }
  return it->second;
}

absl::Status InMemoryKeyProvider::Delete(std::string_view key_id) {
  absl::MutexLock lock(&mutex_);
  auto it = keys_.find(key_id);
  if (it != keys_.end()) {
    // Overwrite before freeing so the key does not linger in freed memory.
    it->second.fill(0);
    keys_.erase(it);
  }
  deleted_.emplace(key_id);
  return absl::OkStatus();
}

absl::Status InMemoryKeyProvider::Put(std::string_view key_id,
                                      const DataKey& key) {
  absl::MutexLock lock(&mutex_);
  if (deleted_.count(key_id) > 0) return KeyErasedError(key_id);
  auto [it, inserted] = keys_.emplace(std::string(key_id), key);
  if (!inserted && it->second != key) {
    return absl::AlreadyExistsError(
        fmt::format("key {} exists with a different value", key_id));
  }
  return absl::OkStatus();
}

}  // namespace crm::contact
