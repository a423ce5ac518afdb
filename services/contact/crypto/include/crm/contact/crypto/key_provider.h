// Per-subject data keys for crypto-shredding.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace crm::contact {

// A 256-bit AES key.
using DataKey = std::array<uint8_t, 32>;

// Keeps one data key per key id (KeyIdFor(tenant, subject)) and remembers
// deleted ones, so a deleted key is told apart from one that never existed.
// Implementations are thread-safe. A production implementation keeps keys
// wrapped under a master key in the service's store.
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;

  // The key of key_id, created (random) when there is none.
  // Errors: FAILED_PRECONDITION with IsKeyErased when the key was deleted;
  // UNAVAILABLE / INTERNAL from the store or the random source.
  virtual absl::StatusOr<DataKey> GetOrCreate(std::string_view key_id) = 0;

  // The key of key_id. Errors: FAILED_PRECONDITION with IsKeyErased when
  // deleted; NOT_FOUND when it never existed.
  virtual absl::StatusOr<DataKey> Get(std::string_view key_id) = 0;

  // Deletes the key for good (crypto-shredding). Deleting a deleted or
  // unknown key is OK (erasure is retried after crashes).
  virtual absl::Status Delete(std::string_view key_id) = 0;
};

}  // namespace crm::contact
