// Given events, when an account command, then events or an error.
#include "crm/contact/domain/account.h"

#include "domain_test_util.h"

namespace crm::contact {
namespace {

using ::crm::contact::testing::DomainTest;
using ::crm::contact::testing::Expected;
using ::crm::contact::testing::HasViolation;
using ::crm::contact::testing::ParseText;
using ::crm::contact::testing::TestId;
using ::crm::testing::StatusIs;
using Code = absl::StatusCode;

struct Case {
  std::string name;
  std::vector<AccountEvent> given = {};
  AccountCommand when;
  std::vector<Expected> then = {};
  Code code = Code::kOk;
  std::string field = "";
  std::string tenant = testing::kTenant;
};

class AccountDecideTest : public DomainTest {
 protected:
  const std::string id_ = TestId("account-acme");
  const std::string other_id_ = TestId("account-acme-2");

  v1::AccountCreated Created(
      std::string_view profile_text = "display_name: 'Acme'") {
    v1::AccountCreated created;
    created.set_account_id(id_);
    created.set_owner("user-1");
    created.set_source("api");
    *created.mutable_profile() = ParseText<v1::AccountProfile>(profile_text);
    return created;
  }

  v1::AccountDeleted Deleted() {
    v1::AccountDeleted e;
    e.set_account_id(id_);
    return e;
  }

  AccountFields Fields(std::string_view profile_text) {
    AccountFields fields;
    fields.profile = ParseText<v1::AccountProfile>(profile_text);
    return fields;
  }

  void Run(const std::vector<Case>& cases) {
    RunCases<AccountState>(
        cases, [&](const AccountState& state, const AccountCommand& command) {
          return Decide(state, command, context_);
        });
  }
};

TEST_F(AccountDecideTest, CreateAccount) {
  auto create = [&](std::string_view text) {
    return CreateAccount{id_, Fields(text), ""};
  };
  Run({
      {.name = "creates with the domain derived from the web site",
       .when = create(
           R"pb(display_name: " Acme "
                website: "https://www.Acme.example/about"
                phones { number: "+44 20 7946 0958" }
                annual_revenue { currency_code: "EUR" minor_units: 100 })pb"),
       .then = {{"AccountCreated",
                 "account_id: '" + id_ +
                     "' owner: 'user-1' source: 'api' profile { display_name: "
                     "'Acme' website: 'https://www.Acme.example/about' domain: "
                     "'acme.example' phones { number: '+44 20 7946 0958' e164: "
                     "'+442079460958' } annual_revenue { currency_code: 'EUR' "
                     "minor_units: 100 } }"}}},
      {.name = "refuses an existing id",
       .given = {Created()},
       .when = create("display_name: 'Acme'"),
       .code = Code::kAlreadyExists},
      {.name = "refuses a missing name",
       .when = create("legal_name: 'Acme GmbH'"),
       .code = Code::kInvalidArgument,
       .field = "display_name"},
      {.name = "refuses a web site without a domain",
       .when = create("display_name: 'Acme' website: 'https://localhost/'"),
       .code = Code::kInvalidArgument,
       .field = "website"},
      {.name = "refuses being its own parent",
       .when = create("display_name: 'Acme' parent_account_id: '" + id_ + "'"),
       .code = Code::kInvalidArgument,
       .field = "parent_account"},
      {.name = "refuses a bad currency",
       .when = create("display_name: 'Acme' annual_revenue { currency_code: "
                      "'eur' }"),
       .code = Code::kInvalidArgument,
       .field = "annual_revenue.currency_code"},
      {.name = "refuses a negative head count",
       .when = create("display_name: 'Acme' employee_count: -1"),
       .code = Code::kInvalidArgument,
       .field = "employee_count"},
      {.name = "refuses a malformed id",
       .when = CreateAccount{"acme", Fields("display_name: 'Acme'"), ""},
       .code = Code::kInvalidArgument,
       .field = "account_id"},
  });
}

TEST_F(AccountDecideTest, UpdateDeleteUndelete) {
  auto update = [&](std::vector<std::string> mask, std::string_view text) {
    return UpdateAccount{id_, std::move(mask), Fields(text)};
  };
  v1::AccountMergedInto merged;
  merged.set_account_id(id_);
  merged.set_survivor_account_id(other_id_);
  Run({
      {.name = "updates the named fields, carrying the whole profile",
       .given = {Created()},
       .when = update({"industry", "website"},
                      "display_name: 'ignored' industry: 'Widgets' website: "
                      "'acme.example'"),
       .then = {{"AccountUpdated",
                 "account_id: '" + id_ +
                     "' changed_fields: 'industry' changed_fields: 'website' "
                     "profile { display_name: 'Acme' industry: 'Widgets' "
                     "website: 'acme.example' domain: 'acme.example' }"}}},
      {.name = "the same values append nothing",
       .given = {Created()},
       .when = update({"display_name"}, "display_name: 'Acme '"),
       .then = {}},
      {.name = "refuses clearing the name",
       .given = {Created()},
       .when = update({"display_name"}, ""),
       .code = Code::kInvalidArgument,
       .field = "display_name"},
      {.name = "refuses an unknown path",
       .given = {Created()},
       .when = update({"domain"}, ""),
       .code = Code::kInvalidArgument,
       .field = "update_mask"},
      {.name = "another tenant's account is NOT_FOUND",
       .given = {Created()},
       .when = update({"industry"}, "industry: 'X'"),
       .code = Code::kNotFound,
       .tenant = "globex"},
      {.name = "a deleted account refuses updates",
       .given = {Created(), Deleted()},
       .when = update({"industry"}, "industry: 'X'"),
       .code = Code::kFailedPrecondition},
      {.name = "a merged account refuses updates",
       .given = {Created(), merged},
       .when = update({"industry"}, "industry: 'X'"),
       .code = Code::kFailedPrecondition},
      {.name = "deletes",
       .given = {Created()},
       .when = DeleteAccount{id_},
       .then = {{"AccountDeleted", "account_id: '" + id_ + "'"}}},
      {.name = "refuses deleting twice",
       .given = {Created(), Deleted()},
       .when = DeleteAccount{id_},
       .code = Code::kFailedPrecondition},
      {.name = "delete of a missing account is NOT_FOUND",
       .when = DeleteAccount{id_},
       .code = Code::kNotFound},
      {.name = "undeletes",
       .given = {Created(), Deleted()},
       .when = UndeleteAccount{id_},
       .then = {{"AccountUndeleted", "account_id: '" + id_ + "'"}}},
      {.name = "refuses undeleting a live account",
       .given = {Created()},
       .when = UndeleteAccount{id_},
       .code = Code::kFailedPrecondition},
  });
}

TEST_F(AccountDecideTest, MergeAndUnmerge) {
  AccountState survivor = Apply(AccountState(), Created(), testing::TestMeta());
  v1::AccountCreated other_created;
  other_created.set_account_id(other_id_);
  other_created.set_owner("user-2");
  other_created.add_tags("partner");
  *other_created.mutable_profile() = ParseText<v1::AccountProfile>(
      "display_name: 'ACME Inc' industry: 'Widgets' website: 'acme.example' "
      "domain: 'acme.example'");
  AccountState merged =
      Apply(AccountState(), other_created, testing::TestMeta());

  MergeAccounts merge{id_,
                      other_id_,
                      {{"tags", v1::MERGE_FIELD_SOURCE_BOTH},
                       {"owner", v1::MERGE_FIELD_SOURCE_SURVIVOR}}};
  ASSERT_OK_AND_ASSIGN(AccountPairEvents events,
                       DecideMerge(survivor, merged, merge, context_));
  ExpectEvents(
      absl::StatusOr<std::vector<AccountEvent>>(events.survivor_events),
      {{"AccountMerged",
        "account_id: '" + id_ + "' merged_account_id: '" + other_id_ +
            "' field_choices { key: 'owner' value: MERGE_FIELD_SOURCE_SURVIVOR "
            "} field_choices { key: 'tags' value: MERGE_FIELD_SOURCE_BOTH } "
            "changed_fields: 'industry' changed_fields: 'tags' "
            "changed_fields: 'website' tags: 'partner' profile { display_name: "
            "'Acme' industry: 'Widgets' website: 'acme.example' domain: "
            "'acme.example' }"}});
  ExpectEvents(
      absl::StatusOr<std::vector<AccountEvent>>(events.merged_events),
      {{"AccountMergedInto",
        "account_id: '" + other_id_ + "' survivor_account_id: '" + id_ + "'"}});
  for (const AccountEvent& e : events.survivor_events) {
    survivor = Apply(std::move(survivor), e, testing::TestMeta());
  }
  for (const AccountEvent& e : events.merged_events) {
    merged = Apply(std::move(merged), e, testing::TestMeta());
  }
  EXPECT_THAT(DecideMerge(survivor, merged, merge, context_),
              StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(
      DecideMerge(survivor, survivor, MergeAccounts{id_, id_, {}}, context_),
      HasViolation("merged"));
  EXPECT_THAT(
      DecideMerge(
          survivor, merged,
          MergeAccounts{
              id_, other_id_, {{"industry", v1::MERGE_FIELD_SOURCE_BOTH}}},
          context_),
      HasViolation("field_choices[industry]"));

  ASSERT_OK_AND_ASSIGN(
      AccountPairEvents undo,
      DecideUnmerge(survivor, merged, UnmergeAccounts{id_, other_id_},
                    context_));
  ExpectEvents(
      absl::StatusOr<std::vector<AccountEvent>>(undo.survivor_events),
      {{"AccountUnmerged",
        "account_id: '" + id_ + "' unmerged_account_id: '" + other_id_ +
            "' reverted_fields: 'industry' reverted_fields: 'tags' "
            "reverted_fields: 'website' profile { display_name: 'Acme' }"}});
  ExpectEvents(
      absl::StatusOr<std::vector<AccountEvent>>(undo.merged_events),
      {{"AccountUnmergedFrom",
        "account_id: '" + other_id_ + "' survivor_account_id: '" + id_ + "'"}});
  EXPECT_THAT(
      DecideUnmerge(Apply(AccountState(), Created(), testing::TestMeta()),
                    merged, UnmergeAccounts{id_, other_id_}, context_),
      StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(DecideUnmerge(survivor, AccountState(),
                            UnmergeAccounts{id_, other_id_}, context_),
              StatusIs(Code::kNotFound));
}

}  // namespace
}  // namespace crm::contact
