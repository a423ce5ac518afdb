// Fills a contact service's store directly, for `crm-bench contact`'s reads
// at scale: each contact is made by the domain (Decide on CreateContact,
// personal data sealed under its own key, EncodeEvent) exactly as
// CreateContact would make it, but many contacts are appended per
// AppendMulti and their keys are written in one batch per append instead
// of one synced write each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace crm::eventstore {
class EventStore;
}

namespace crm::bench {

struct FillResult {
  uint64_t contacts = 0;
  uint64_t last_position = 0;
  absl::Duration elapsed;
};

// Appends contacts ContactIdAt(i), PersonAt(i, "stored") for i in
// [0, count), owned by tenant `tenant`, `batch` contacts per AppendMulti
// (REQUIRES: 0 < batch <= the store's max_events_per_append), writing
// their data keys to the key column family the way StoreKeyProvider stores
// them. The store must not hold these contacts yet. Errors: the domain's,
// the store's (ABORTED when a contact exists already); CANCELLED when a
// stop was requested.
absl::StatusOr<FillResult> FillContacts(eventstore::EventStore& store,
                                        const std::string& tenant,
                                        uint64_t count, size_t batch);

}  // namespace crm::bench
