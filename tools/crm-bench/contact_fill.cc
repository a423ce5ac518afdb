#include "contact_fill.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "contact_people.h"
#include "crm/base/status_macros.h"
#include "crm/contact/api/store_key_provider.h"
#include "crm/contact/crypto/aes_gcm_sealer.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "crm/eventstore/event_store.h"
#include "fmt/format.h"
#include "run_control.h"

namespace crm::bench {

absl::StatusOr<FillResult> FillContacts(eventstore::EventStore& store,
                                        const std::string& tenant,
                                        uint64_t count, size_t batch) {
  // The service's own key format and locks: the bench reads a filled
  // contact back through the service before measuring.
  contact::api::StagedKeyProvider keys(&store);
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
    // Keys first, unsynced: the synced AppendMulti right after makes them
    // durable before the events (one WAL; StoreKeyProvider::CreateKeys).
    ASSIGN_OR_RETURN(
        std::set<std::string> taken,
        keys.Commit(eventstore::EventStore::Durability::kUnsynced));
    if (!taken.empty()) {
      return absl::FailedPreconditionError(fmt::format(
          "{} of the bench's contact keys (such as {}) were stored by another "
          "writer meanwhile; fill a store nothing else writes to",
          taken.size(), *taken.begin()));
    }
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
