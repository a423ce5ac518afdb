// A KeyProvider kept in a column family of the service's event store, so
// personal data stays readable across restarts, and StagedKeyProvider, which
// makes the keys of many new records in memory and stores them at once.
//
// WARNING: keys are stored unwrapped (no master key yet) and go wherever the
// store goes (backups included). A deleted key is overwritten with a marker
// and RocksDB drops the old bytes only in compaction. Good for the demo and
// tests; production needs a wrapped key store (README: not built yet).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
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

  // Per key id: the key stored under it, or why there is none.
  using KeyResults =
      std::map<std::string, absl::StatusOr<DataKey>, std::less<>>;

  // Stores many new keys in ONE write batch (one WAL record, one fsync when
  // synced), holding the locks of all their ids: for each id of `keys` that
  // has no key yet, the key given for it. An id that has a key keeps it (it
  // is never replaced), and an erased id is refused as GetOrCreate refuses
  // it (KeyErasedError; nothing is stored for it). Returns, for every id of
  // `keys`, the key now stored under it (the given one, or the one stored
  // before) or KeyErasedError; a caller that sealed under a given key that
  // is not the one returned must seal again.
  // Errors: UNAVAILABLE when reading or writing the key store fails (then
  // nothing was stored), DATA_LOSS for a damaged stored key, INTERNAL when
  // the random source fails.
  //
  // `durability`: kSynced makes the keys durable before this returns.
  // kUnsynced is enough when everything sealed under them is afterwards
  // appended synced to the same store: the keys' column family and the log
  // share one RocksDB WAL, written in order, so that synced append makes
  // the keys durable before (or with) the events (EventStore::Durability);
  // a crash before it loses keys nothing durable uses. Any other use
  // (records kept elsewhere, appends not synced) needs kSynced.
  absl::StatusOr<KeyResults> CreateKeys(
      const std::map<std::string, DataKey, std::less<>>& keys,
      eventstore::EventStore::Durability durability);

  // A new random data key (not stored). Errors: INTERNAL when the random
  // source fails.
  static absl::StatusOr<DataKey> NewKey();

 private:
  // nullopt when absent; KeyErasedError when deleted.
  absl::StatusOr<std::optional<DataKey>> Read(std::string_view key_id);

  // The lock that serialises creating and deleting `key_id`'s key, so two
  // callers never make two keys for one id. Striped by the id's hash: keys
  // of different people are made in parallel.
  // The stripes are shared by every provider of the process, so two
  // providers over one store (the service's, an import's) exclude each
  // other too. CreateKeys takes several stripes, in ascending order.
  static constexpr size_t kLockStripes = 64;
  static size_t StripeOf(std::string_view key_id);
  static absl::Mutex& Stripe(size_t stripe);
  static absl::Mutex& LockFor(std::string_view key_id) {
    return Stripe(StripeOf(key_id));
  }

  eventstore::EventStore* store_;
};

// A KeyProvider for a writer that seals many new records and appends them
// together (a bulk import, a benchmark's fill): GetOrCreate returns the
// stored key of an id, else makes a new one in memory; Commit stores the new
// ones at once (StoreKeyProvider::CreateKeys) before the records are
// appended. Get sees the keys made and the stored ones. Thread-safe.
//
//   StagedKeyProvider keys(&store);
//   AesGcmSealer sealer(&keys);
//   ... Decide(..., sealer) for every new record ...
//   ASSIGN_OR_RETURN(std::set<std::string> resealed,
//                    keys.Commit(Durability::kUnsynced));
//   ... append synced; records whose key id is in `resealed` sealed again ...
class StagedKeyProvider final : public KeyProvider {
 public:
  // `store` is not owned and must outlive the provider.
  explicit StagedKeyProvider(eventstore::EventStore* store) : stored_(store) {}

  absl::StatusOr<DataKey> GetOrCreate(std::string_view key_id) override;
  absl::StatusOr<DataKey> Get(std::string_view key_id) override;
  // FAILED_PRECONDITION: a staged provider only makes keys.
  absl::Status Delete(std::string_view key_id) override;

  // Stores the keys made since the last Commit (see CreateKeys for
  // `durability`) and forgets them. Returns the ids whose stored key is not
  // the one made here (another writer stored one first, or the id was
  // erased): what was sealed under them must be sealed again through a
  // provider that reads the stored key. Errors: CreateKeys'; then the keys
  // stay staged.
  absl::StatusOr<std::set<std::string>> Commit(
      eventstore::EventStore::Durability durability);

 private:
  StoreKeyProvider stored_;
  absl::Mutex mutex_;
  std::map<std::string, DataKey, std::less<>> staged_ ABSL_GUARDED_BY(mutex_);
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
