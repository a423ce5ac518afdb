// What the relationship and activity handlers share (internal to
// contact_api): the parent of a list, and checks of the contacts and
// accounts a request names.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crm/base/status_macros.h"
#include "crm/contact/projections/account_projections.h"
#include "crm/contact/projections/contact_projections.h"
#include "fmt/format.h"
#include "service_support.h"

namespace crm::contact::api {

// A list's parent: "contacts/<id>" or "accounts/<id>"; INVALID_ARGUMENT
// naming "parent" otherwise.
inline absl::StatusOr<RecordRef> ParentOf(std::string_view parent) {
  RecordRef ref{RecordType::kContact, ""};
  if (parent.starts_with("accounts/")) ref.type = RecordType::kAccount;
  if (ref.type == RecordType::kContact && !parent.starts_with("contacts/")) {
    return InvalidField("parent",
                        "must be \"contacts/{contact}\" or "
                        "\"accounts/{account}\"");
  }
  ASSIGN_OR_RETURN(ref.id, IdOf(ref.type, parent, "parent"));
  return ref;
}

// NOT_FOUND unless `record` exists (in any state) in `tenant`.
inline absl::Status CheckVisible(const ServiceDeps& deps,
                                 std::string_view tenant,
                                 const RecordRef& record) {
  if (record.type == RecordType::kContact) {
    ASSIGN_OR_RETURN(auto view,
                     deps.engine.View(projections::kContactsByIdProjection));
    ASSIGN_OR_RETURN(std::optional<projections::StoredContact> contact,
                     projections::GetStoredContact(*view, tenant, record.id));
    if (contact.has_value()) return absl::OkStatus();
  } else {
    ASSIGN_OR_RETURN(auto view,
                     deps.engine.View(projections::kAccountsByIdProjection));
    ASSIGN_OR_RETURN(std::optional<v1::Account> account,
                     projections::GetAccountRecord(*view, tenant, record.id));
    if (account.has_value()) return absl::OkStatus();
  }
  return absl::NotFoundError(
      fmt::format("{} does not exist", ResourceName(record.type, record.id)));
}

// FAILED_PRECONDITION naming the account and `field` unless the account
// exists in `tenant` and is neither deleted nor merged.
inline absl::Status CheckAccountActive(const ServiceDeps& deps,
                                       std::string_view tenant,
                                       std::string_view id,
                                       std::string_view field) {
  ASSIGN_OR_RETURN(auto view,
                   deps.engine.View(projections::kAccountsByIdProjection));
  ASSIGN_OR_RETURN(std::optional<v1::Account> account,
                   projections::GetAccountRecord(*view, tenant, id));
  if (!account.has_value()) {
    return absl::FailedPreconditionError(fmt::format(
        "accounts/{} ({}) does not exist; create the account first or name "
        "an existing one",
        id, field));
  }
  if (account->state() == v1::RECORD_STATE_MERGED) {
    return absl::FailedPreconditionError(
        fmt::format("accounts/{} ({}) was merged into {}; name that account "
                    "instead",
                    id, field, account->merged_into()));
  }
  if (account->state() == v1::RECORD_STATE_DELETED) {
    return absl::FailedPreconditionError(fmt::format(
        "accounts/{} ({}) is deleted; undelete it first", id, field));
  }
  return absl::OkStatus();
}

}  // namespace crm::contact::api
