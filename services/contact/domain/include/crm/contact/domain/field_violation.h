// Field-named validation errors, kept free of gRPC.
//
// The domain reports bad input as INVALID_ARGUMENT carrying a list of
// FieldViolation in a status payload; the API layer turns the list into a
// google.rpc.BadRequest. Field paths are relative to the API resource or
// request the command came from, such as "emails[1].address" or
// "update_mask"; the API layer prefixes them ("contact.emails[1].address").
//
//   ViolationList violations;
//   if (name.empty()) violations.Add("given_name", "is required");
//   RETURN_IF_ERROR(violations.ToStatus("contact"));
//   ...
//   for (const FieldViolation& v : FieldViolations(status)) { ... }
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace crm::contact {

// One bad field: which, and what is wrong with it and how to fix it.
struct FieldViolation {
  std::string field;
  std::string description;

  friend bool operator==(const FieldViolation&,
                         const FieldViolation&) = default;
};

// The status payload's type URL.
inline constexpr std::string_view kFieldViolationsPayloadUrl =
    "type.crm.dev/crm.contact.FieldViolations";

// An INVALID_ARGUMENT status whose message lists every violation ("invalid
// <what>: field: description; ...") and whose payload carries them.
// REQUIRES: !violations.empty().
absl::Status InvalidArgumentWithViolations(
    std::string_view what, const std::vector<FieldViolation>& violations);

// The violations carried by a status made by InvalidArgumentWithViolations;
// empty for any other status.
std::vector<FieldViolation> FieldViolations(const absl::Status& status);

// Collects violations while validating, then becomes a status.
// Not thread-safe.
class ViolationList {
 public:
  void Add(std::string field, std::string description) {
    violations_.push_back({std::move(field), std::move(description)});
  }
  // Adds every violation of `other` with `prefix` in front of its field.
  void AddAll(std::string_view prefix,
              const std::vector<FieldViolation>& other);

  bool empty() const { return violations_.empty(); }
  const std::vector<FieldViolation>& violations() const { return violations_; }

  // OK when empty, else InvalidArgumentWithViolations(what, violations).
  absl::Status ToStatus(std::string_view what) const;

 private:
  std::vector<FieldViolation> violations_;
};

}  // namespace crm::contact
