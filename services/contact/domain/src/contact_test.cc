// Given events, when a command, then events or an error: every contact
// command, including each rejection.
#include "crm/contact/domain/contact.h"

#include "domain_test_util.h"

namespace crm::contact {
namespace {

using ::crm::contact::testing::DomainTest;
using ::crm::contact::testing::Expected;
using ::crm::contact::testing::HasViolation;
using ::crm::contact::testing::TestId;
using ::crm::testing::StatusIs;
using Code = absl::StatusCode;

constexpr char kAdaPersonal[] = R"pb(
  given_name: "Ada"
  family_name: "Lovelace"
  emails { address: "ada@example.com" normalized: "ada@example.com" }
)pb";

struct Case {
  std::string name;
  std::vector<ContactEvent> given = {};
  ContactCommand when;
  std::vector<Expected> then = {};
  Code code = Code::kOk;
  std::string field = "";  // a violated field, for INVALID_ARGUMENT
  std::string tenant = testing::kTenant;  // of the given events
};

class ContactDecideTest : public DomainTest {
 protected:
  const std::string id_ = TestId("contact-a");
  const std::string account_ = TestId("account-1");
  const std::string account2_ = TestId("account-2");
  const std::string survivor_ = TestId("contact-survivor");

  v1::ContactCreated Created(std::string_view tenant = testing::kTenant) {
    v1::ContactCreated created;
    created.set_contact_id(id_);
    created.set_owner("user-1");
    created.add_tags("vip");
    created.set_source("api");
    *created.mutable_sealed_personal() =
        SealPersonal(id_, kAdaPersonal, tenant);
    return created;
  }

  template <typename T>
  T With(T event) {
    return event;
  }

  v1::ContactDeleted Deleted() {
    v1::ContactDeleted e;
    e.set_contact_id(id_);
    return e;
  }

  v1::ContactMergedInto MergedInto() {
    v1::ContactMergedInto e;
    e.set_contact_id(id_);
    e.set_survivor_contact_id(survivor_);
    return e;
  }

  v1::ContactErased Erased() {
    v1::ContactErased e;
    e.set_contact_id(id_);
    e.add_shredded_key_ids(KeyIdFor(testing::kTenant, id_));
    return e;
  }

  v1::RelationshipAdded Related(std::string_view account,
                                const std::vector<std::string>& roles) {
    v1::RelationshipAdded e;
    e.set_contact_id(id_);
    e.mutable_relationship()->set_account_id(std::string(account));
    for (const std::string& role : roles)
      e.mutable_relationship()->add_roles(role);
    return e;
  }

  ContactFields Fields(std::string_view personal_text) {
    ContactFields fields;
    fields.personal =
        testing::ParseText<v1::ContactPersonalData>(personal_text);
    return fields;
  }

  void Run(const std::vector<Case>& cases) {
    RunCases<ContactState>(
        cases, [&](const ContactState& state, const ContactCommand& command) {
          return Decide(state, command, context_, sealer_);
        });
  }
};

TEST_F(ContactDecideTest, CreateContact) {
  ContactFields full = Fields(R"pb(
    given_name: "  Ada "
    family_name: "Lovelace"
    emails { address: " Ada@Example.COM " label: "work" }
    phones { number: "030 1234567" }
    birth_date: "1815-12-10"
  )pb");
  full.tags = {"VIP", "vip", "b2b"};
  full.account_id = account_;
  ContactFields plain = Fields("given_name: 'Ada'");
  auto with = [&](std::string_view personal_text) {
    return CreateContact{id_, Fields(personal_text), ""};
  };
  ContactFields bad_tag = plain;
  bad_tag.tags = {"not a tag"};
  ContactFields bad_account = plain;
  bad_account.account_id = "acme";
  Run({
      {.name = "creates with normalized fields, owner defaults to the actor",
       .when = CreateContact{id_, full, ""},
       .then = {{"ContactCreated",
                 "contact_id: '" + id_ +
                     "' owner: 'user-1' tags: 'vip' "
                     "tags: 'b2b' account_id: '" +
                     account_ + "' source: 'api'",
                 R"pb(given_name: "Ada"
                      family_name: "Lovelace"
                      emails {
                        address: "Ada@Example.COM"
                        label: "work"
                        normalized: "ada@example.com"
                      }
                      phones { number: "030 1234567" e164: "+49301234567" }
                      birth_date: "1815-12-10")pb"}}},
      {.name = "keeps the given source and owner",
       .when = CreateContact{id_,
                             [&] {
                               ContactFields f = plain;
                               f.owner = "user-9";
                               return f;
                             }(),
                             "lead:42"},
       .then = {{"ContactCreated",
                 "contact_id: '" + id_ + "' owner: 'user-9' source: 'lead:42'",
                 "given_name: 'Ada'"}}},
      {.name = "refuses an existing id",
       .given = {Created()},
       .when = CreateContact{id_, plain, ""},
       .code = Code::kAlreadyExists},
      {.name = "refuses an id taken in another tenant",
       .given = {Created("globex")},
       .when = CreateContact{id_, plain, ""},
       .code = Code::kAlreadyExists,
       .tenant = "globex"},
      {.name = "refuses a malformed id",
       .when = CreateContact{"42", plain, ""},
       .code = Code::kInvalidArgument,
       .field = "contact_id"},
      {.name = "refuses a contact without a name",
       .when = with("job_title: 'CTO'"),
       .code = Code::kInvalidArgument,
       .field = "given_name"},
      {.name = "refuses a bad email",
       .when = with("given_name: 'Ada' emails { address: 'ada.example.com' }"),
       .code = Code::kInvalidArgument,
       .field = "emails[0].address"},
      {.name = "refuses the same email twice",
       .when = with("given_name: 'Ada' emails { address: 'a@b.example' } "
                    "emails { address: 'A@B.example' }"),
       .code = Code::kInvalidArgument,
       .field = "emails[1].address"},
      {.name = "refuses a bad phone",
       .when = with("given_name: 'Ada' phones { number: '12' }"),
       .code = Code::kInvalidArgument,
       .field = "phones[0].number"},
      {.name = "refuses a bad country code",
       .when = with("given_name: 'Ada' addresses { country_code: 'de' }"),
       .code = Code::kInvalidArgument,
       .field = "addresses[0].country_code"},
      {.name = "refuses a birth date in the future",
       .when = with("given_name: 'Ada' birth_date: '2999-01-01'"),
       .code = Code::kInvalidArgument,
       .field = "birth_date"},
      {.name = "refuses an impossible birth date",
       .when = with("given_name: 'Ada' birth_date: '1815-02-30'"),
       .code = Code::kInvalidArgument,
       .field = "birth_date"},
      {.name = "refuses a control character in a name",
       .when = with("given_name: 'Ada\\x01'"),
       .code = Code::kInvalidArgument,
       .field = "given_name"},
      {.name = "refuses a bad tag",
       .when = CreateContact{id_, bad_tag, ""},
       .code = Code::kInvalidArgument,
       .field = "tags[0]"},
      {.name = "refuses a malformed account id",
       .when = CreateContact{id_, bad_account, ""},
       .code = Code::kInvalidArgument,
       .field = "account"},
  });
}

TEST_F(ContactDecideTest, CreateContactRefusesAMalformedContext) {
  context_.tenant = "";
  EXPECT_THAT(
      Decide(ContactState(), CreateContact{id_, Fields("given_name: 'A'"), ""},
             context_, sealer_),
      HasViolation("tenant"));
  context_ = testing::TestContext();
  context_.actor = "";
  EXPECT_THAT(
      Decide(ContactState(), CreateContact{id_, Fields("given_name: 'A'"), ""},
             context_, sealer_),
      HasViolation("actor"));
}

TEST_F(ContactDecideTest, CreateContactWithoutDefaultRegionNeedsCountryCodes) {
  context_.default_region = "";
  EXPECT_THAT(
      Decide(
          ContactState(),
          CreateContact{
              id_, Fields("given_name: 'A' phones { number: '030 1234567' }"),
              ""},
          context_, sealer_),
      HasViolation("phones[0].number"));
}

TEST_F(ContactDecideTest, UpdateContact) {
  auto update = [&](std::vector<std::string> mask,
                    std::string_view personal_text) {
    return UpdateContact{id_, std::move(mask), Fields(personal_text)};
  };
  ContactFields owner_and_tags = Fields("");
  owner_and_tags.owner = "user-2";
  owner_and_tags.tags = {"vip", "churn-risk"};
  Run({
      {.name = "changes the named fields only",
       .given = {Created()},
       .when = update({"given_name", "job_title"},
                      "given_name: 'Augusta Ada' family_name: 'ignored' "
                      "job_title: 'Analyst'"),
       .then = {{"ContactUpdated",
                 "contact_id: '" + id_ +
                     "' changed_fields: 'given_name' "
                     "changed_fields: 'job_title'",
                 R"pb(given_name: "Augusta Ada"
                      family_name: "Lovelace"
                      job_title: "Analyst"
                      emails {
                        address: "ada@example.com"
                        normalized: "ada@example.com"
                      })pb"}}},
      {.name = "clear fields carry their new values, no sealed data",
       .given = {Created()},
       .when = UpdateContact{id_, {"owner", "tags"}, owner_and_tags},
       .then = {{"ContactUpdated",
                 "contact_id: '" + id_ +
                     "' changed_fields: 'owner' "
                     "changed_fields: 'tags' owner: 'user-2' tags: 'vip' "
                     "tags: 'churn-risk'"}}},
      {.name = "an update to the same values appends nothing",
       .given = {Created()},
       .when = update({"given_name", "family_name"},
                      "given_name: ' Ada ' family_name: 'Lovelace'"),
       .then = {}},
      {.name = "'*' replaces every writable field",
       .given = {Created()},
       .when = UpdateContact{id_,
                             {"*"},
                             [&] {
                               ContactFields f = Fields("family_name: 'Byron'");
                               f.owner = "user-1";
                               return f;
                             }()},
       .then =
           {{"ContactUpdated",
             "contact_id: '" + id_ +
                 "' changed_fields: 'emails' "
                 "changed_fields: 'family_name' changed_fields: 'given_name' "
                 "changed_fields: 'tags'",
             "family_name: 'Byron'"}}},
      {.name = "'*' needs an owner",
       .given = {Created()},
       .when = update({"*"}, "family_name: 'Byron'"),
       .code = Code::kInvalidArgument,
       .field = "owner"},
      {.name = "refuses an empty mask",
       .given = {Created()},
       .when = update({}, ""),
       .code = Code::kInvalidArgument,
       .field = "update_mask"},
      {.name = "refuses an unknown path",
       .given = {Created()},
       .when = update({"etag"}, ""),
       .code = Code::kInvalidArgument,
       .field = "update_mask"},
      {.name = "refuses a bad value",
       .given = {Created()},
       .when = update({"emails"}, "emails { address: 'nope' }"),
       .code = Code::kInvalidArgument,
       .field = "emails[0].address"},
      {.name = "refuses removing both names",
       .given = {Created()},
       .when = update({"given_name", "family_name"}, ""),
       .code = Code::kInvalidArgument,
       .field = "given_name"},
      {.name = "a missing contact is NOT_FOUND",
       .when = update({"given_name"}, "given_name: 'X'"),
       .code = Code::kNotFound},
      {.name = "another tenant's contact is NOT_FOUND",
       .given = {Created("globex")},
       .when = update({"given_name"}, "given_name: 'X'"),
       .code = Code::kNotFound,
       .tenant = "globex"},
      {.name = "a deleted contact refuses",
       .given = {Created(), Deleted()},
       .when = update({"given_name"}, "given_name: 'X'"),
       .code = Code::kFailedPrecondition},
      {.name = "a merged contact refuses",
       .given = {Created(), MergedInto()},
       .when = update({"given_name"}, "given_name: 'X'"),
       .code = Code::kFailedPrecondition},
      {.name = "an erased contact refuses",
       .given = {Created(), Erased()},
       .when = update({"given_name"}, "given_name: 'X'"),
       .code = Code::kFailedPrecondition},
  });
}

TEST_F(ContactDecideTest, DeleteAndUndelete) {
  Run({
      {.name = "deletes",
       .given = {Created()},
       .when = DeleteContact{id_},
       .then = {{"ContactDeleted", "contact_id: '" + id_ + "'"}}},
      {.name = "refuses deleting twice",
       .given = {Created(), Deleted()},
       .when = DeleteContact{id_},
       .code = Code::kFailedPrecondition},
      {.name = "delete of a missing contact is NOT_FOUND",
       .when = DeleteContact{id_},
       .code = Code::kNotFound},
      {.name = "delete refuses a malformed id",
       .when = DeleteContact{"x"},
       .code = Code::kInvalidArgument,
       .field = "contact_id"},
      {.name = "delete refuses a merged contact",
       .given = {Created(), MergedInto()},
       .when = DeleteContact{id_},
       .code = Code::kFailedPrecondition},
      {.name = "undeletes",
       .given = {Created(), Deleted()},
       .when = UndeleteContact{id_},
       .then = {{"ContactUndeleted", "contact_id: '" + id_ + "'"}}},
      {.name = "refuses undeleting a live contact",
       .given = {Created()},
       .when = UndeleteContact{id_},
       .code = Code::kFailedPrecondition},
      {.name = "undelete of another tenant's contact is NOT_FOUND",
       .given = {Created("globex"), Deleted()},
       .when = UndeleteContact{id_},
       .code = Code::kNotFound,
       .tenant = "globex"},
      {.name = "undelete refuses an erased contact",
       .given = {Created(), Deleted(), Erased()},
       .when = UndeleteContact{id_},
       .code = Code::kFailedPrecondition},
  });
}

TEST_F(ContactDecideTest, Relationships) {
  Run({
      {.name = "adds with normalized roles",
       .given = {Created()},
       .when =
           AddRelationship{
               id_, account_, {" Decision_Maker", "billing", "billing"}},
       .then = {{"RelationshipAdded",
                 "contact_id: '" + id_ + "' relationship { account_id: '" +
                     account_ +
                     "' roles: 'decision_maker' roles: 'billing' }"}}},
      {.name = "refuses a second relationship to the same account",
       .given = {Created(), Related(account_, {})},
       .when = AddRelationship{id_, account_, {}},
       .code = Code::kAlreadyExists},
      {.name = "refuses a malformed account",
       .given = {Created()},
       .when = AddRelationship{id_, "acme", {}},
       .code = Code::kInvalidArgument,
       .field = "account"},
      {.name = "refuses a bad role",
       .given = {Created()},
       .when = AddRelationship{id_, account_, {"c.e.o"}},
       .code = Code::kInvalidArgument,
       .field = "roles[0]"},
      {.name = "add on a deleted contact refuses",
       .given = {Created(), Deleted()},
       .when = AddRelationship{id_, account_, {}},
       .code = Code::kFailedPrecondition},
      {.name = "add on a missing contact is NOT_FOUND",
       .when = AddRelationship{id_, account_, {}},
       .code = Code::kNotFound},
      {.name = "updates roles",
       .given = {Created(), Related(account_, {"billing"})},
       .when = UpdateRelationship{id_, account_, {"champion"}},
       .then = {{"RelationshipUpdated",
                 "contact_id: '" + id_ + "' relationship { account_id: '" +
                     account_ + "' roles: 'champion' }"}}},
      {.name = "the same roles append nothing",
       .given = {Created(), Related(account_, {"billing"})},
       .when = UpdateRelationship{id_, account_, {"BILLING"}},
       .then = {}},
      {.name = "update of a missing relationship is NOT_FOUND",
       .given = {Created(), Related(account_, {})},
       .when = UpdateRelationship{id_, account2_, {"x"}},
       .code = Code::kNotFound},
      {.name = "removes",
       .given = {Created(), Related(account_, {})},
       .when = RemoveRelationship{id_, account_},
       .then = {{"RelationshipRemoved",
                 "contact_id: '" + id_ + "' account_id: '" + account_ + "'"}}},
      {.name = "remove of a missing relationship is NOT_FOUND",
       .given = {Created()},
       .when = RemoveRelationship{id_, account_},
       .code = Code::kNotFound},
      {.name = "remove on an erased contact refuses",
       .given = {Created(), Related(account_, {}), Erased()},
       .when = RemoveRelationship{id_, account_},
       .code = Code::kFailedPrecondition},
  });
}

TEST_F(ContactDecideTest, Consent) {
  GiveConsent give{id_,
                   "newsletter",
                   v1::CONSENT_CHANNEL_EMAIL,
                   v1::LEGAL_BASIS_UNSPECIFIED,
                   "web_form:signup",
                   testing::TestNow() + absl::Hours(24 * 365)};
  GiveConsent expired = give;
  expired.expire_time = testing::TestNow() - absl::Seconds(1);
  GiveConsent bad_purpose = give;
  bad_purpose.purpose = "News Letter";
  GiveConsent no_channel = give;
  no_channel.channel = v1::CONSENT_CHANNEL_UNSPECIFIED;
  WithdrawConsent withdraw{id_, "newsletter", v1::CONSENT_CHANNEL_EMAIL,
                           "unsubscribe_link"};
  WithdrawConsent bad_withdraw = withdraw;
  bad_withdraw.purpose = "";
  std::string expire_seconds = std::to_string(
      absl::ToUnixSeconds(testing::TestNow() + absl::Hours(24 * 365)));
  Run({
      {.name = "gives, legal basis defaults to consent",
       .given = {Created()},
       .when = give,
       .then = {{"ConsentGiven",
                 "contact_id: '" + id_ +
                     "' purpose: 'newsletter' channel: "
                     "CONSENT_CHANNEL_EMAIL legal_basis: LEGAL_BASIS_CONSENT "
                     "source: 'web_form:signup' expire_time { seconds: " +
                     expire_seconds + " }"}}},
      {.name = "refuses an expiry in the past",
       .given = {Created()},
       .when = expired,
       .code = Code::kInvalidArgument,
       .field = "expire_time"},
      {.name = "refuses a bad purpose",
       .given = {Created()},
       .when = bad_purpose,
       .code = Code::kInvalidArgument,
       .field = "purpose"},
      {.name = "refuses a missing channel",
       .given = {Created()},
       .when = no_channel,
       .code = Code::kInvalidArgument,
       .field = "channel"},
      {.name = "give on a deleted contact refuses",
       .given = {Created(), Deleted()},
       .when = give,
       .code = Code::kFailedPrecondition},
      {.name = "give on an erased contact refuses",
       .given = {Created(), Erased()},
       .when = give,
       .code = Code::kFailedPrecondition},
      {.name = "withdraws, even on a deleted contact",
       .given = {Created(), Deleted()},
       .when = withdraw,
       .then = {{"ConsentWithdrawn",
                 "contact_id: '" + id_ +
                     "' purpose: 'newsletter' channel: "
                     "CONSENT_CHANNEL_EMAIL source: 'unsubscribe_link'"}}},
      {.name = "withdraw refuses an empty purpose",
       .given = {Created()},
       .when = bad_withdraw,
       .code = Code::kInvalidArgument,
       .field = "purpose"},
      {.name = "withdraw on a missing contact is NOT_FOUND",
       .when = withdraw,
       .code = Code::kNotFound},
  });
}

TEST_F(ContactDecideTest, Erase) {
  Run({
      {.name = "erases, listing the contact's key",
       .given = {Created()},
       .when = EraseContact{id_, "gdpr_art17_request"},
       .then = {{"ContactErased", "contact_id: '" + id_ +
                                      "' shredded_key_ids: 'acme/" + id_ +
                                      "' reason: 'gdpr_art17_request'"}}},
      {.name = "erases a deleted contact",
       .given = {Created(), Deleted()},
       .when = EraseContact{id_, ""},
       .then = {{"ContactErased", "contact_id: '" + id_ +
                                      "' shredded_key_ids: 'acme/" + id_ +
                                      "'"}}},
      {.name = "erasing twice appends nothing",
       .given = {Created(), Erased()},
       .when = EraseContact{id_, ""},
       .then = {}},
      {.name = "a merged contact refuses: erase the survivor",
       .given = {Created(), MergedInto()},
       .when = EraseContact{id_, ""},
       .code = Code::kFailedPrecondition},
      {.name = "refuses a reason that is not a code",
       .given = {Created()},
       .when = EraseContact{id_, "she asked me on the phone"},
       .code = Code::kInvalidArgument,
       .field = "reason"},
      {.name = "another tenant's contact is NOT_FOUND",
       .given = {Created("globex")},
       .when = EraseContact{id_, ""},
       .code = Code::kNotFound,
       .tenant = "globex"},
  });
}

TEST_F(ContactDecideTest, ApplyFoldsEveryEventIntoTheState) {
  ContactState state;
  auto apply = [&](const ContactEvent& e) {
    state = Apply(std::move(state), e, testing::TestMeta());
  };
  apply(Created());
  EXPECT_EQ(state.version, 1u);
  EXPECT_EQ(state.tenant, "acme");
  EXPECT_EQ(state.tags, std::vector<std::string>{"vip"});
  apply(Related(account_, {"billing"}));
  v1::ConsentGiven given;
  given.set_purpose("newsletter");
  given.set_channel(v1::CONSENT_CHANNEL_EMAIL);
  apply(given);
  v1::ConsentWithdrawn withdrawn;
  withdrawn.set_purpose("newsletter");
  withdrawn.set_channel(v1::CONSENT_CHANNEL_EMAIL);
  apply(withdrawn);
  apply(Deleted());
  EXPECT_EQ(state.version, 5u);
  EXPECT_TRUE(state.deleted);
  ASSERT_EQ(state.relationships.count(account_), 1u);
  const ConsentState& consent =
      state.consents.at({"newsletter", v1::CONSENT_CHANNEL_EMAIL});
  EXPECT_FALSE(consent.granted);
  EXPECT_TRUE(consent.give_time.has_value());
  EXPECT_TRUE(consent.withdraw_time.has_value());
  apply(Erased());
  EXPECT_TRUE(state.erased);
  EXPECT_TRUE(state.sealed_personal.nonce().empty());
  EXPECT_TRUE(state.sealed_personal.ciphertext().empty());
}

TEST_F(ContactDecideTest, ErasedRecordReadsAsErasedAfterTheKeyIsDeleted) {
  const v1::ContactCreated created = Created();
  ContactState state = Apply(ContactState(), created, testing::TestMeta());
  ASSERT_OK_AND_ASSIGN(std::vector<ContactEvent> events,
                       Decide(state, EraseContact{id_, ""}, context_, sealer_));
  ASSERT_EQ(events.size(), 1u);
  const auto& erased = std::get<v1::ContactErased>(events[0]);
  // The caller deletes the listed keys after the append.
  for (const std::string& key_id : erased.shredded_key_ids()) {
    ASSERT_OK(keys_.Delete(key_id));
  }
  // Any copy of the creation event (log, Kafka, backup) is unreadable now.
  ContactState replayed = Apply(ContactState(), created, testing::TestMeta());
  absl::Status opened = CurrentContactFields(replayed, sealer_).status();
  EXPECT_TRUE(IsKeyErased(opened)) << opened;
  // And nothing more can be written for the person.
  EXPECT_TRUE(IsKeyErased(
      Decide(replayed,
             UpdateContact{id_, {"given_name"}, Fields("given_name: 'X'")},
             context_, sealer_)
          .status()));
}

}  // namespace
}  // namespace crm::contact
