// A KeyProvider in memory: for tests, tools and the single-process demo.
// Keys are lost with the process.
#pragma once

#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "crm/contact/crypto/key_provider.h"

namespace crm::contact {

// Thread-safe.
class InMemoryKeyProvider final : public KeyProvider {
 public:
  absl::StatusOr<DataKey> GetOrCreate(std::string_view key_id) override;
  absl::StatusOr<DataKey> Get(std::string_view key_id) override;
  absl::Status Delete(std::string_view key_id) override;

  // Installs a known key (fixtures and tests). FAILED_PRECONDITION when the
  // key id was deleted; ALREADY_EXISTS when it has a different key.
  absl::Status Put(std::string_view key_id, const DataKey& key);

 private:
  absl::Mutex mutex_;
  std::map<std::string, DataKey, std::less<>> keys_ ABSL_GUARDED_BY(mutex_);
  std::set<std::string, std::less<>> deleted_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace crm::contact
