// The stored form of a contact in the contact projections, and its
// conversions to the domain state and to the API resource.
//
// A StoredContact is the clear part of the crm.contact.v1.Contact resource
// (ids, owner, tags, state, times, etag) plus the personal data still sealed
// under the person's key. Projections keep it as it is; readers open the
// sealed part at read time with the sealer, so an erased person (key
// deleted) is never readable from a projection, not even one built before
// the erasure.
//
// Value encoding (projection state, rebuildable, so not a long-term format):
// varint length of the serialized Contact, the Contact, then the serialized
// SealedData.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_service.pb.h"
#include "crm/projection/projection.h"

namespace crm::contact::projections {

struct StoredContact {
  v1::Contact clear;  // No personal field set.
  v1::SealedData sealed_personal;
};

std::string EncodeStoredContact(const StoredContact& contact);
// DATA_LOSS when `value` is not an encoded StoredContact.
absl::StatusOr<StoredContact> DecodeStoredContact(std::string_view value);

// What `writer` holds at `key`, a key of the record of the event's own
// stream (its id is the stream's): nothing at the stream's first event,
// without reading. A stream's id is never used before its first event (a
// create of an existing id is refused, streams are never recreated), so no
// event can have written its records yet; the read would only miss, and
// a new record is most of what a catch-up or an import applies.
absl::StatusOr<std::optional<std::string>> OwnRecordBefore(
    const projection::Envelope& event,
    const projection::ProjectionWriter& writer, std::string_view key);

// The stored form of a domain state (which must exist).
StoredContact FromState(const ContactState& state);
// The domain state a StoredContact holds, for Apply to fold the next event
// into. Relationships, consents and merge records are not kept (the
// projections do not serve them). `tenant` is the projection key's.
ContactState ToState(const StoredContact& contact, std::string_view tenant);

// The API resource: the clear fields with the personal data opened.
// A person whose key was deleted (IsKeyErased) is returned without personal
// fields, as ERASED. Errors: those of OpenMessage other than an erased key.
absl::StatusOr<v1::Contact> ToResource(const StoredContact& contact,
                                       PersonalDataSealer& sealer);

}  // namespace crm::contact::projections
