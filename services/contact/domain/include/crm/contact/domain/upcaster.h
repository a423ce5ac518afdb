// Upcasting: old events keep replaying after a breaking schema change.
//
// An event's payload schema is named by (type, schema_version) in its
// envelope. A breaking change bumps the schema version and registers an
// upcaster that turns an envelope of the old version into one of the next;
// Upcast chains them until none applies, so readers only ever see current
// schemas.
//
//   const UpcasterRegistry& upcasters = ContactUpcasters();
//   ASSIGN_OR_RETURN(EventEnvelope current,
//                    upcasters.Upcast(std::move(stored), {&sealer}));
//
// Upcasters may need to open and re-seal personal data (a change inside a
// sealed plaintext), hence the sealer in the context; for an erased person
// they keep the key id and drop the unreadable ciphertext.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/common/v1/event_envelope.pb.h"
#include "crm/contact/domain/sealer.h"

namespace crm::contact {

struct UpcastContext {
  PersonalDataSealer* sealer = nullptr;  // not owned; may be null when no
                                         // registered upcaster needs it
};

// Turns an envelope of schema version N of its type into version N + 1.
// Receives and returns the whole envelope; only payload and schema_version
// may change.
using UpcastFunction = std::function<absl::StatusOr<common::v1::EventEnvelope>(
    common::v1::EventEnvelope, const UpcastContext&)>;

// Upcasters by (type, from_version). Build once, then share: const methods
// are thread-safe.
class UpcasterRegistry {
 public:
  // Registers fn for (type, from_version). ALREADY_EXISTS when one is
  // registered; INVALID_ARGUMENT for an empty type or from_version 0.
  absl::Status Register(std::string type, uint32_t from_version,
                        UpcastFunction fn);

  // Applies upcasters while one matches (type, schema_version); schema
  // version 0 counts as 1. Errors of an upcaster are returned with the type
  // and version added; FAILED_PRECONDITION when an upcaster does not raise
  // the version by one.
  absl::StatusOr<common::v1::EventEnvelope> Upcast(
      common::v1::EventEnvelope envelope, const UpcastContext& context) const;

 private:
  std::map<std::pair<std::string, uint32_t>, UpcastFunction, std::less<>>
      upcasters_;
};

// The contact service's upcasters:
//   crm.contact.v1.ContactCreated 1 -> 2: ContactCreatedV1 with sealed
//     ContactPersonalDataV1 (full_name, email, phone) becomes ContactCreated
//     with sealed ContactPersonalData: full_name split into given_name (all
//     words but the last) and family_name (the last word; a single word is
//     the given name), email and phone the first entries of emails and
//     phones, normalized where they parse (phones only when they carry
//     "+country"); re-sealed under the same key. For an erased person the
//     result carries the key id and no ciphertext.
const UpcasterRegistry& ContactUpcasters();

}  // namespace crm::contact
