// Ids, stream names and resource names of the contact service.
//
// Every record id is a UUID in canonical lower-case text form
// ("6f1c0b1e-...-..."). A record's events are in the stream
// "contact-<id>", "account-<id>" or "activity-<id>"; its API resource name is
// "contacts/<id>", "accounts/<id>" or "activities/<id>".
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace crm::contact {

// True for a canonical UUID: 36 characters, lower-case hex, dashes at 8, 13,
// 18 and 23.
bool IsCanonicalUuid(std::string_view id);

// A deterministic id: a version-5 (SHA-1, RFC 4122 §4.3) UUID of `key` in a
// namespace derived from `name_space` under the suite's root namespace. The
// same inputs give the same id forever, so a redelivered message creates
// nothing twice (DESIGN.md §8 flow 1: contact and account ids derived from
// the converted lead).
// Include the tenant in name_space ("<tenant>/sales.lead/contact") so two
// tenants never derive the same id.
std::string DeriveId(std::string_view name_space, std::string_view key);

// What kind of record a stream or resource name refers to.
enum class RecordType { kContact, kAccount, kActivity };

// "contact-<id>", "account-<id>", "activity-<id>".
std::string StreamName(RecordType type, std::string_view id);
inline std::string ContactStream(std::string_view id) {
  return StreamName(RecordType::kContact, id);
}
inline std::string AccountStream(std::string_view id) {
  return StreamName(RecordType::kAccount, id);
}
inline std::string ActivityStream(std::string_view id) {
  return StreamName(RecordType::kActivity, id);
}

// "contacts/<id>", "accounts/<id>", "activities/<id>".
std::string ResourceName(RecordType type, std::string_view id);

// A record named by a stream or resource name.
struct RecordRef {
  RecordType type;
  std::string id;
};

// Parses a stream name. INVALID_ARGUMENT when it is not one of the three
// forms with a canonical UUID.
absl::StatusOr<RecordRef> ParseStreamName(std::string_view stream);

// Parses a resource name of the given type and returns its id.
// INVALID_ARGUMENT (message names the expected form) otherwise.
absl::StatusOr<std::string> ParseResourceName(RecordType type,
                                              std::string_view name);

}  // namespace crm::contact
