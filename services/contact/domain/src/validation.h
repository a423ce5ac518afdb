// Validation and conversion helpers shared by the aggregates. Internal.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "crm/contact/domain/field_violation.h"
#include "crm/contact/domain/proto_time.h"
#include "crm/contact/v1/contact_types.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/timestamp.pb.h"

namespace crm::contact::internal {

inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxLabelBytes = 64;
inline constexpr size_t kMaxNotesBytes = size_t{16} * 1024;
inline constexpr size_t kMaxEmails = 20;
inline constexpr size_t kMaxPhones = 20;
inline constexpr size_t kMaxAddresses = 10;
inline constexpr size_t kMaxAddressLines = 5;
inline constexpr size_t kMaxTags = 50;
inline constexpr size_t kMaxRoles = 16;
inline constexpr size_t kMaxSourceBytes = 128;

// Trims ASCII whitespace at both ends.
std::string Trim(std::string_view s);

// Checks a free text: valid UTF-8, at most max_bytes, no control characters
// (newlines and tabs allowed when multiline).
void CheckText(ViolationList& violations, std::string field,
               std::string_view value, size_t max_bytes, bool multiline);

// Checks an id: a canonical UUID, or empty when !required.
void CheckId(ViolationList& violations, std::string field, std::string_view id,
             bool required);

// Tags: trimmed, ASCII lower-cased, [a-z0-9][a-z0-9_.:-]{0,63}, at most
// kMaxTags; duplicates dropped, order kept.
std::vector<std::string> NormalizeTags(ViolationList& violations,
                                       std::string_view field,
                                       const std::vector<std::string>& tags);

// Roles: as tags but [a-z0-9_-], at most kMaxRoles.
std::vector<std::string> NormalizeRoles(ViolationList& violations,
                                        std::string_view field,
                                        const std::vector<std::string>& roles);

// Short machine codes such as consent purposes ([a-z0-9_-]{1,64}) and
// erasure reasons ([a-z0-9_]{0,64}).
bool IsCode(std::string_view value, bool allow_dash, bool allow_empty);

// Trims addresses, fills `normalized`, checks labels, count and duplicates.
void NormalizeEmails(
    ViolationList& violations, std::string_view field, size_t max_count,
    google::protobuf::RepeatedPtrField<v1::EmailAddress>* emails);

// Trims numbers, fills `e164` (parsed in default_region), checks labels,
// count and duplicates.
void NormalizePhones(
    ViolationList& violations, std::string_view field,
    std::string_view default_region,
    google::protobuf::RepeatedPtrField<v1::PhoneNumber>* phones);

// Trims and checks addresses.
void NormalizeAddresses(
    ViolationList& violations, std::string_view field,
    google::protobuf::RepeatedPtrField<v1::PostalAddress>* addresses);

// "YYYY-MM-DD", a real date, not after `now`; or empty.
void CheckBirthDate(ViolationList& violations, std::string field,
                    std::string_view date, absl::Time now);

// Expands an update mask against the writable paths: "*" means all; an empty
// mask, an unknown path or "*" with others is a violation of "update_mask".
// Returns the paths in the order of `writable`, without duplicates.
std::vector<std::string> ExpandUpdateMask(
    ViolationList& violations, const std::vector<std::string>& mask,
    const std::vector<std::string>& writable);

// True when `path` is in `paths`.
bool Contains(const std::vector<std::string>& paths, std::string_view path);

// "owner" etc. error messages shared by the aggregates.
absl::Status NotFound(std::string_view kind, std::string_view id);

}  // namespace crm::contact::internal
