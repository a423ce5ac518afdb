// Propagating absl::Status without exceptions.
//
// Debian's Abseil (20220623) ships no status macros, so the suite has these,
// in this one header:
//
//   absl::StatusOr<Contact> Load(std::string_view id) {
//     RETURN_IF_ERROR(ValidateId(id));
//     ASSIGN_OR_RETURN(std::string bytes, store.Get(id));
//     return Parse(bytes);
//   }
//
// RETURN_IF_ERROR(expr): evaluates expr (an absl::Status or absl::StatusOr)
// and returns its status from the enclosing function when it is not OK.
//
// ASSIGN_OR_RETURN(lhs, expr): evaluates expr (an absl::StatusOr<T>); on error
// returns its status, otherwise moves the value into lhs, which may be a
// declaration ("auto x") or an existing variable.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace crm::internal_status {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace crm::internal_status

#define CRM_STATUS_CONCAT_INNER_(a, b) a##b
#define CRM_STATUS_CONCAT_(a, b) CRM_STATUS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                                                \
  do {                                                                       \
    if (auto&& crm_status_ = (expr);                                         \
        !::crm::internal_status::GetStatus(crm_status_).ok()) {              \
      return ::absl::Status(::crm::internal_status::GetStatus(crm_status_)); \
    }                                                                        \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr)                                        \
  CRM_ASSIGN_OR_RETURN_IMPL_(CRM_STATUS_CONCAT_(crm_status_or_, __LINE__), \
                             lhs, expr)

// `status_or` names a variable and `lhs` may be a declaration ("auto x"),
// so neither can be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define CRM_ASSIGN_OR_RETURN_IMPL_(status_or, lhs, expr) \
  auto status_or = (expr);                               \
  if (!status_or.ok()) {                                 \
    return std::move(status_or).status();                \
  }                                                      \
  lhs = std::move(status_or).value()
// NOLINTEND(bugprone-macro-parentheses)
