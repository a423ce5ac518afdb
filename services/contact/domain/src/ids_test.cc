#include "crm/contact/domain/ids.h"

#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::contact {
namespace {

using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using Code = absl::StatusCode;

constexpr char kId[] = "6f1c0b1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f";

class IdsTest : public ::testing::Test {};

TEST_F(IdsTest, DeriveIdIsAStableVersion5Uuid) {
  std::string id = DeriveId("acme/sales.lead/contact", "lead-42");
  EXPECT_TRUE(IsCanonicalUuid(id));
  EXPECT_EQ(id[14], '5');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
  EXPECT_EQ(id, DeriveId("acme/sales.lead/contact", "lead-42"));
  EXPECT_NE(id, DeriveId("globex/sales.lead/contact", "lead-42"));
  EXPECT_NE(id, DeriveId("acme/sales.lead/account", "lead-42"));
  EXPECT_NE(id, DeriveId("acme/sales.lead/contact", "lead-43"));
  // Pinned (equal to Python's uuid.uuid5(uuid.uuid5(root, name_space),
  // key)): a change of the algorithm would change every derived id.
  EXPECT_EQ(id, "61a75a90-32af-5577-9e24-9dafb36a34e4");
}

TEST_F(IdsTest, CanonicalUuidIsLowerCaseWithDashes) {
  EXPECT_TRUE(IsCanonicalUuid(kId));
  EXPECT_FALSE(IsCanonicalUuid("6F1C0B1E-2A3B-4C5D-8E9F-0A1B2C3D4E5F"));
  EXPECT_FALSE(IsCanonicalUuid("6f1c0b1e2a3b4c5d8e9f0a1b2c3d4e5f"));
  EXPECT_FALSE(IsCanonicalUuid(""));
}

TEST_F(IdsTest, StreamAndResourceNamesRoundTrip) {
  EXPECT_EQ(ContactStream(kId), std::string("contact-") + kId);
  EXPECT_EQ(AccountStream(kId), std::string("account-") + kId);
  EXPECT_EQ(ActivityStream(kId), std::string("activity-") + kId);
  ASSERT_OK_AND_ASSIGN(RecordRef ref, ParseStreamName(ActivityStream(kId)));
  EXPECT_EQ(ref.type, RecordType::kActivity);
  EXPECT_EQ(ref.id, kId);
  EXPECT_THAT(ParseStreamName("contact-42"), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(ParseStreamName("lead-" + std::string(kId)),
              StatusIs(Code::kInvalidArgument));
  EXPECT_EQ(ResourceName(RecordType::kAccount, kId),
            std::string("accounts/") + kId);
  EXPECT_THAT(
      ParseResourceName(RecordType::kContact, std::string("contacts/") + kId),
      IsOkAndHolds(std::string(kId)));
  EXPECT_THAT(
      ParseResourceName(RecordType::kContact, std::string("accounts/") + kId),
      StatusIs(Code::kInvalidArgument));
}

}  // namespace
}  // namespace crm::contact
