#include "crm/contact/domain/completeness.h"

#include "contact_internal.h"
#include "crm/base/status_macros.h"
#include "fmt/format.h"
#include "proto_fields.h"
#include "validation.h"

namespace crm::contact {
namespace {

absl::Status ValidateRequired(const std::vector<std::string>& required,
                              const std::vector<std::string>& writable) {
  ViolationList violations;
  for (size_t i = 0; i < required.size(); ++i) {
    std::string field = fmt::format("required_fields[{}]", i);
    if (!internal::Contains(writable, required[i])) {
      violations.Add(field, fmt::format("'{}' is not a field of the record",
                                        required[i].substr(0, 64)));
    } else if (std::find(required.begin(),
                         required.begin() + static_cast<ptrdiff_t>(i),
                         required[i]) !=
               required.begin() + static_cast<ptrdiff_t>(i)) {
      violations.Add(field, "is named twice");
    }
  }
  return violations.ToStatus("required fields");
}

}  // namespace

absl::Status ValidateRequiredContactFields(
    const std::vector<std::string>& required) {
  return ValidateRequired(required, ContactFieldPaths());
}

absl::Status ValidateRequiredAccountFields(
    const std::vector<std::string>& required) {
  return ValidateRequired(required, AccountFieldPaths());
}

absl::StatusOr<std::vector<std::string>> MissingContactFields(
    const ContactFields& fields, const std::vector<std::string>& required) {
  RETURN_IF_ERROR(ValidateRequiredContactFields(required));
  std::vector<std::string> missing;
  for (const std::string& path : required) {
    if (internal::ContactFieldEmpty(path, fields)) missing.push_back(path);
  }
  return missing;
}

absl::StatusOr<std::vector<std::string>> MissingAccountFields(
    const AccountFields& fields, const std::vector<std::string>& required) {
  RETURN_IF_ERROR(ValidateRequiredAccountFields(required));
  std::vector<std::string> missing;
  for (const std::string& path : required) {
    bool empty = false;
    if (path == "owner") {
      empty = fields.owner.empty();
    } else if (path == "tags") {
      empty = fields.tags.empty();
    } else {
      empty = internal::ProtoFieldEmpty(
          fields.profile,
          path == "parent_account" ? "parent_account_id" : path);
    }
    if (empty) missing.push_back(path);
  }
  return missing;
}

}  // namespace crm::contact
