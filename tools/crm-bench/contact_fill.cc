#include "contact_fill.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "contact_people.h"
#include "crm/base/status_macros.h"
#include "crm/contact/api/store_key_provider.h"
#include "crm/contact/crypto/aes_gcm_sealer.h"
#include "crm/contact/crypto/key_provider.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "crm/eventstore/event_store.h"
#include "fmt/format.h"
#include "openssl/rand.h"
#include "rocksdb/write_batch.h"
#include "run_control.h"

namespace crm::bench {
namespace {

// New keys kept in memory until Flush writes them all in one synced batch.
// Stores them as StoreKeyProvider does (store_key_provider.cc): key id ->
// the 32 key bytes, in its column family. The bench reads a filled contact
// back through the service before measuring, so a drift between the two
// fails the run instead of measuring errors.
class BatchedKeyProvider final : public contact::KeyProvider {
 public:
  absl::StatusOr<contact::DataKey> GetOrCreate(
      std::string_view key_id) override {
    absl::MutexLock lock(&mutex_);
    auto found = pending_.find(key_id);
    if (found != pending_.end()) return found->second;
    contact::DataKey key;
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
      return absl::InternalError(
          "the random source failed to make a data key; retry");
    }
    pending_.emplace(std::string(key_id), key);
    return key;
  }

  absl::StatusOr<contact::DataKey> Get(std::string_view key_id) override {
    absl::MutexLock lock(&mutex_);
    auto found = pending_.find(key_id);
    if (found == pending_.end()) {
      return absl::NotFoundError(
          fmt::format("no data key {} among the bench's pending keys", key_id));
    }
    return found->second;
  }

  absl::Status Delete(std::string_view key_id) override {
    return absl::UnimplementedError(fmt::format(
        "the bench's key provider cannot delete {}; it only makes keys",
        key_id));
  }

  // Writes the keys made since the last Flush to the store.
  absl::Status Flush(eventstore::EventStore& store) {
    ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * family,
                     store.CreateColumnFamily(contact::api::kKeyColumnFamily));
    absl::MutexLock lock(&mutex_);
    rocksdb::WriteBatch batch;
    for (const auto& [key_id, key] : pending_) {
      batch.Put(family, key_id,
                rocksdb::Slice(reinterpret_cast<const char*>(key.data()),
                               key.size()));
    }
    RETURN_IF_ERROR(store.Write(batch));
    pending_.clear();
    return absl::OkStatus();
  }

 private:
  absl::Mutex mutex_;
  std::map<std::string, contact::DataKey, std::less<>> pending_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace

absl::StatusOr<FillResult> FillContacts(eventstore::EventStore& store,
                                        const std::string& tenant,
                                        uint64_t count, size_t batch) {
  BatchedKeyProvider keys;
  contact::AesGcmSealer sealer(&keys);
  contact::CommandContext context;
  context.tenant = tenant;
  context.actor = "bench-loader";
  FillResult result;
  const absl::Time start = absl::Now();
  for (uint64_t first = 0; first < count; first += batch) {
    if (StopRequested()) return absl::CancelledError("stopped by a signal");
    const uint64_t end = std::min<uint64_t>(count, first + batch);
    context.now = absl::Now();
    google::protobuf::Timestamp occurred_at;
    occurred_at.set_seconds(absl::ToUnixSeconds(context.now));
    std::vector<eventstore::StreamAppend> appends;
    appends.reserve(end - first);
    for (uint64_t i = first; i < end; ++i) {
      const SyntheticPerson person = PersonAt(i, "stored");
      contact::CreateContact command;
      command.contact_id = ContactIdAt(i);
      command.fields.owner = person.owner;
      command.fields.personal.set_given_name(person.given_name);
      command.fields.personal.set_family_name(person.family_name);
      command.fields.personal.add_emails()->set_address(person.email);
      ASSIGN_OR_RETURN(
          std::vector<contact::ContactEvent> events,
          contact::Decide(contact::ContactState{},
                          contact::ContactCommand(command), context, sealer));
      eventstore::StreamAppend& append = appends.emplace_back();
      append.stream = contact::ContactStream(command.contact_id);
      append.expected_version = eventstore::ExpectedVersion::NoStream();
      for (const contact::ContactEvent& event : events) {
        eventstore::Envelope& envelope = append.events.emplace_back();
        contact::FillEnvelope(contact::EncodeEvent(event), &envelope);
        envelope.set_tenant(tenant);
        envelope.set_actor(context.actor);
        *envelope.mutable_occurred_at() = occurred_at;
      }
    }
    // Keys first: no event may ever be stored without its key.
    RETURN_IF_ERROR(keys.Flush(store));
    ASSIGN_OR_RETURN(eventstore::AppendResult appended,
                     store.AppendMulti(std::move(appends)));
    result.last_position = appended.last_position;
    result.contacts = end;
    if (end % 100'000 < batch) {
      Log("contact: stored %d of %d contacts", end, count);
    }
  }
  result.elapsed = absl::Now() - start;
  return result;
}

}  // namespace crm::bench
