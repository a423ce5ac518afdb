// GoogleTest matchers for absl::Status and absl::StatusOr<T>.
//
//   EXPECT_THAT(store->Append(...), IsOk());
//   EXPECT_THAT(store->ReadStream(...), StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(Parse("7"), IsOkAndHolds(7));
//   ASSERT_OK_AND_ASSIGN(auto result, store->Append(...));
#pragma once

#include <ostream>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::testing {
namespace internal {

inline const absl::Status& ToStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& ToStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace internal

MATCHER(IsOk, "is OK") {
  const absl::Status& status = internal::ToStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = internal::ToStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + absl::StatusCodeToString(code) +
               " and a matching message") {
  const absl::Status& status = internal::ToStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(
             message_matcher, std::string(status.message()), result_listener);
}

MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace crm::testing

#define CRM_TESTING_CONCAT_INNER_(a, b) a##b
#define CRM_TESTING_CONCAT_(a, b) CRM_TESTING_CONCAT_INNER_(a, b)

// Asserts that expr (an absl::StatusOr<T>) is OK and moves its value into lhs.
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                        \
  ASSERT_OK_AND_ASSIGN_IMPL_(CRM_TESTING_CONCAT_(crm_test_so_, __LINE__), lhs, \
                             expr)
// `lhs` may be a declaration ("auto x"), so it cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSERT_OK_AND_ASSIGN_IMPL_(status_or, lhs, expr) \
  auto status_or = (expr);                               \
  ASSERT_TRUE(status_or.ok()) << status_or.status();     \
  lhs = std::move(status_or).value()
// NOLINTEND(bugprone-macro-parentheses)

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::crm::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::crm::testing::IsOk())
