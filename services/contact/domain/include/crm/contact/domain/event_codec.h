// Turning the aggregates' events into envelope payloads and back.
//
// Writing: EncodeEvent gives the type name, the current schema version and
// the serialized payload; the caller fills the rest of the envelope (stream,
// ids, times, actor, tenant). Reading: ReadContactEvent (and the account and
// activity ones) upcast the envelope, check the schema version and parse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crm/common/v1/event_envelope.pb.h"
#include "crm/contact/domain/account.h"
#include "crm/contact/domain/activity.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/context.h"
#include "crm/contact/domain/upcaster.h"

namespace crm::contact {

// The current schema version of an event type of this service: 2 for
// crm.contact.v1.ContactCreated, 1 for every other; 0 for a type this
// service does not write.
uint32_t CurrentSchemaVersion(std::string_view type);

struct EncodedEvent {
  std::string type;  // such as "crm.contact.v1.ContactCreated"
  uint32_t schema_version = 0;
  std::string payload;
};

EncodedEvent EncodeEvent(const ContactEvent& event);
EncodedEvent EncodeEvent(const AccountEvent& event);
EncodedEvent EncodeEvent(const ActivityEvent& event);

// Fills type, schema_version and payload of *envelope from the event.
void FillEnvelope(const EncodedEvent& event,
                  common::v1::EventEnvelope* envelope);

// Upcasts (ContactUpcasters) and parses. INVALID_ARGUMENT for a type that is
// not one of the aggregate's events; FAILED_PRECONDITION for a schema version
// newer than this build's (upgrade the service) or one no upcaster reaches;
// DATA_LOSS when the payload does not parse. Errors of upcasters as they are.
absl::StatusOr<ContactEvent> ReadContactEvent(
    const common::v1::EventEnvelope& envelope, const UpcastContext& context);
absl::StatusOr<AccountEvent> ReadAccountEvent(
    const common::v1::EventEnvelope& envelope, const UpcastContext& context);
absl::StatusOr<ActivityEvent> ReadActivityEvent(
    const common::v1::EventEnvelope& envelope, const UpcastContext& context);

// The envelope's tenant, actor and occurred_at.
EventMeta EventMetaOf(const common::v1::EventEnvelope& envelope);

}  // namespace crm::contact
