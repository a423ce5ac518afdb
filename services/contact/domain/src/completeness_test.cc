#include "crm/contact/domain/completeness.h"

#include "domain_test_util.h"

namespace crm::contact {
namespace {

using ::crm::contact::testing::HasViolation;
using ::crm::contact::testing::ParseText;
using ::crm::testing::IsOkAndHolds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class CompletenessTest : public ::testing::Test {};

TEST_F(CompletenessTest, ListsMissingContactFieldsInRequestedOrder) {
  ContactFields fields;
  fields.owner = "user-1";
  fields.personal = ParseText<v1::ContactPersonalData>(
      "given_name: 'Ada' emails { address: 'ada@example.com' }");
  EXPECT_THAT(MissingContactFields(fields, {"phones", "given_name", "account",
                                            "emails", "family_name", "owner"}),
              IsOkAndHolds(ElementsAre("phones", "account", "family_name")));
  EXPECT_THAT(MissingContactFields(fields, {}), IsOkAndHolds(IsEmpty()));
}

TEST_F(CompletenessTest, ListsMissingAccountFields) {
  AccountFields fields;
  fields.profile =
      ParseText<v1::AccountProfile>("display_name: 'Acme' employee_count: 12");
  EXPECT_THAT(
      MissingAccountFields(fields,
                           {"display_name", "employee_count", "annual_revenue",
                            "parent_account", "tags"}),
      IsOkAndHolds(ElementsAre("annual_revenue", "parent_account", "tags")));
}

TEST_F(CompletenessTest, RejectsUnknownAndRepeatedFields) {
  EXPECT_THAT(ValidateRequiredContactFields({"emails", "fax"}),
              HasViolation("required_fields[1]"));
  EXPECT_THAT(ValidateRequiredContactFields({"emails", "emails"}),
              HasViolation("required_fields[1]"));
  EXPECT_THAT(ValidateRequiredAccountFields({"given_name"}),
              HasViolation("required_fields[0]"));
  EXPECT_THAT(MissingContactFields(ContactFields(), {"domain"}),
              HasViolation("required_fields[0]"));
}

}  // namespace
}  // namespace crm::contact
