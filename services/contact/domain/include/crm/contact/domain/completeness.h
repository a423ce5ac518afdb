// Data quality: which required fields a record lacks. The list of required
// fields is configured per tenant (or given per request).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/contact/domain/account.h"
#include "crm/contact/domain/contact.h"

namespace crm::contact {

// Checks a required-field list against the writable field paths of the
// record type (ContactFieldPaths / AccountFieldPaths). INVALID_ARGUMENT
// naming "required_fields[i]" for an unknown or repeated path.
absl::Status ValidateRequiredContactFields(
    const std::vector<std::string>& required);
absl::Status ValidateRequiredAccountFields(
    const std::vector<std::string>& required);

// The required fields that are empty (a blank string, an empty list, a zero
// count, an unset money), in the order of `required`. Errors as the
// validators above.
absl::StatusOr<std::vector<std::string>> MissingContactFields(
    const ContactFields& fields, const std::vector<std::string>& required);
absl::StatusOr<std::vector<std::string>> MissingAccountFields(
    const AccountFields& fields, const std::vector<std::string>& required);

}  // namespace crm::contact
