// A KeyProvider kept in a column family of the service's event store, so
// personal data stays readable across restarts.
//
// WARNING: keys are stored unwrapped (no master key yet) and go wherever the
// store goes (backups included). A deleted key is overwritten with a marker
// and RocksDB drops the old bytes only in compaction. Good for the demo and
// tests; production needs a wrapped key store (README: not built yet).
#pragma once

#include <functional>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "crm/contact/crypto/key_provider.h"
#include "crm/eventstore/event_store.h"

namespace crm::contact::api {

// The column family it uses; pass it in EventStore::Options
// ::extra_column_families (or it is created on first use).
inline constexpr char kKeyColumnFamily[] = "contact_keys";

// Thread-safe.
class StoreKeyProvider final : public KeyProvider {
 public:
  // `store` is not owned and must outlive the provider.
  explicit StoreKeyProvider(eventstore::EventStore* store) : store_(store) {}

  absl::StatusOr<DataKey> GetOrCreate(std::string_view key_id) override;
  absl::StatusOr<DataKey> Get(std::string_view key_id) override;
  absl::Status Delete(std::string_view key_id) override;

 private:
  // nullopt when absent; KeyErasedError when deleted.
  absl::StatusOr<std::optional<DataKey>> Read(std::string_view key_id);

  eventstore::EventStore* store_;
  // Serialises creation so two callers never make two keys for one id.
  absl::Mutex create_mutex_;
};

// The store's commit hook (EventStore::Options::commit_hook) that deletes
// the data keys each ContactErased event lists (shredded_key_ids) in the
// same RocksDB WriteBatch as the event: an erasure and the deletion of its
// keys commit together or not at all, so no crash can leave an erased
// person's keys behind. `store` returns the opened store (the hook runs only
// on appends, after Open has returned); it must outlive the store.
// The hook refuses the append (INTERNAL) when a ContactErased payload does
// not parse, and UNAVAILABLE when the key family cannot be found.
//
//   options.extra_column_families = {kKeyColumnFamily};
//   options.commit_hook = KeyErasureCommitHook([this] { return store_.get();
//   }); ASSIGN_OR_RETURN(store_, eventstore::EventStore::Open(options));
//
// WARNING: a store that serves the contact service must be opened with it;
// EraseContact also deletes the keys after the append (idempotently), which
// covers a store opened without the hook except for a crash in between.
eventstore::CommitHook KeyErasureCommitHook(
    std::function<eventstore::EventStore*()> store);

}  // namespace crm::contact::api
