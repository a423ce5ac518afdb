#include "crm/contact/domain/field_violation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::contact {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class FieldViolationTest : public ::testing::Test {};

TEST_F(FieldViolationTest, ViolationsRoundTripThroughTheStatus) {
  ViolationList violations;
  EXPECT_TRUE(violations.ToStatus("contact").ok());
  violations.Add("emails[0].address", "has no '@': use name@example.com");
  violations.Add("tags[2]", "contains ':,' and digits 12:3,");
  absl::Status status = violations.ToStatus("contact");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("invalid contact: emails[0].address: has no '@'"));
  EXPECT_THAT(
      FieldViolations(status),
      ElementsAre(FieldViolation{"emails[0].address",
                                 "has no '@': use name@example.com"},
                  FieldViolation{"tags[2]", "contains ':,' and digits 12:3,"}));
}

TEST_F(FieldViolationTest, OtherStatusesCarryNone) {
  EXPECT_THAT(FieldViolations(absl::InvalidArgumentError("x")), IsEmpty());
  EXPECT_THAT(FieldViolations(absl::OkStatus()), IsEmpty());
}

TEST_F(FieldViolationTest, AddAllPrefixesFields) {
  ViolationList inner;
  inner.Add("given_name", "is required");
  ViolationList outer;
  outer.AddAll("contact.", inner.violations());
  EXPECT_THAT(outer.violations(),
              ElementsAre(FieldViolation{"contact.given_name", "is required"}));
}

}  // namespace
}  // namespace crm::contact
