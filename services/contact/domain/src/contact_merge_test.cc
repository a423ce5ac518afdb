// Merging two contacts and undoing it: given events on both streams, when
// MergeContacts / UnmergeContacts, then the events of each stream or an
// error.
#include "crm/contact/domain/contact.h"
#include "domain_test_util.h"

namespace crm::contact {
namespace {

using ::crm::contact::testing::DomainTest;
using ::crm::contact::testing::HasViolation;
using ::crm::contact::testing::TestId;
using ::crm::testing::StatusIs;
using Code = absl::StatusCode;

class ContactMergeTest : public DomainTest {
 protected:
  const std::string survivor_id_ = TestId("survivor");
  const std::string merged_id_ = TestId("merged");
  const std::string account_a_ = TestId("account-a");
  const std::string account_b_ = TestId("account-b");

  ContactState Contact(const std::string& id, std::string_view personal,
                       const std::vector<std::string>& tags,
                       const std::vector<ContactEvent>& more = {},
                       const std::string& tenant = testing::kTenant) {
    v1::ContactCreated created;
    created.set_contact_id(id);
    created.set_owner("user-1");
    for (const std::string& tag : tags) created.add_tags(tag);
    *created.mutable_sealed_personal() = SealPersonal(id, personal, tenant);
    ContactState state =
        Apply(ContactState(), created, testing::TestMeta(tenant));
    for (const ContactEvent& e : more) {
      state = Apply(std::move(state), e, testing::TestMeta(tenant));
    }
    return state;
  }

  ContactState Survivor(const std::vector<ContactEvent>& more = {}) {
    return Contact(survivor_id_,
                   R"pb(given_name: "Ada"
                        family_name: "Lovelace"
                        emails {
                          address: "ada@example.com"
                          normalized: "ada@example.com"
                        })pb",
                   {"vip"}, more);
  }

  ContactState Merged(const std::vector<ContactEvent>& more = {}) {
    return Contact(
        merged_id_,
        R"pb(given_name: "Augusta Ada"
             family_name: "King"
             job_title: "Analyst"
             emails { address: "ADA@example.com" normalized: "ada@example.com" }
             emails {
               address: "countess@example.org"
               normalized: "countess@example.org"
             })pb",
        {"b2b"}, more);
  }

  v1::RelationshipAdded Related(const std::string& contact_id,
                                const std::string& account_id) {
    v1::RelationshipAdded e;
    e.set_contact_id(contact_id);
    e.mutable_relationship()->set_account_id(account_id);
    e.mutable_relationship()->add_roles("billing");
    return e;
  }

  // Applies a merge's events to both states.
  void ApplyPair(const ContactPairEvents& events, ContactState& survivor,
                 ContactState& merged) {
    for (const ContactEvent& e : events.survivor_events) {
      survivor = Apply(std::move(survivor), e, testing::TestMeta());
    }
    for (const ContactEvent& e : events.merged_events) {
      merged = Apply(std::move(merged), e, testing::TestMeta());
    }
  }

  MergeContacts Merge(
      std::map<std::string, v1::MergeFieldSource, std::less<>> choices = {}) {
    return MergeContacts{survivor_id_, merged_id_, std::move(choices)};
  }
};

TEST_F(ContactMergeTest, MergeTakesChosenFieldsAndMovesRelationships) {
  ContactState survivor = Survivor({Related(survivor_id_, account_a_)});
  ContactState merged = Merged(
      {Related(merged_id_, account_a_), Related(merged_id_, account_b_)});
  absl::StatusOr<ContactPairEvents> events =
      DecideMerge(survivor, merged,
                  Merge({{"family_name", v1::MERGE_FIELD_SOURCE_MERGED},
                         {"emails", v1::MERGE_FIELD_SOURCE_BOTH},
                         {"tags", v1::MERGE_FIELD_SOURCE_BOTH}}),
                  context_, sealer_);
  ASSERT_OK(events);
  ExpectEvents(
      absl::StatusOr<std::vector<ContactEvent>>(events->survivor_events),
      {{"ContactMerged",
        "contact_id: '" + survivor_id_ + "' merged_contact_id: '" + merged_id_ +
            "' field_choices { key: 'emails' value: MERGE_FIELD_SOURCE_BOTH } "
            "field_choices { key: 'family_name' value: "
            "MERGE_FIELD_SOURCE_MERGED } field_choices { key: 'tags' value: "
            "MERGE_FIELD_SOURCE_BOTH } changed_fields: 'emails' "
            "changed_fields: 'family_name' changed_fields: 'job_title' "
            "changed_fields: 'tags' tags: 'vip' tags: 'b2b' "
            "moved_relationships { account_id: '" +
            account_b_ + "' roles: 'billing' } merged_key_ids: 'acme/" +
            merged_id_ + "'",
        // given_name stays the survivor's (default), job_title is taken
        // because the survivor has none, emails are united by normalized
        // form.
        R"pb(given_name: "Ada"
             family_name: "King"
             job_title: "Analyst"
             emails { address: "ada@example.com" normalized: "ada@example.com" }
             emails {
               address: "countess@example.org"
               normalized: "countess@example.org"
             })pb"}});
  ExpectEvents(absl::StatusOr<std::vector<ContactEvent>>(events->merged_events),
               {{"ContactMergedInto", "contact_id: '" + merged_id_ +
                                          "' survivor_contact_id: '" +
                                          survivor_id_ + "'"}});
  ApplyPair(*events, survivor, merged);
  EXPECT_EQ(survivor.relationships.size(), 2u);
  EXPECT_EQ(merged.merged_into, survivor_id_);
}

TEST_F(ContactMergeTest, MergeRejections) {
  ContactState survivor = Survivor();
  ContactState merged = Merged();
  v1::ContactDeleted deleted;
  deleted.set_contact_id(merged_id_);
  v1::ContactMergedInto merged_elsewhere;
  merged_elsewhere.set_contact_id(merged_id_);
  merged_elsewhere.set_survivor_contact_id(TestId("third"));
  v1::ContactErased erased;
  erased.set_contact_id(survivor_id_);
  struct Case {
    std::string name;
    ContactState survivor;
    ContactState merged;
    MergeContacts command;
    Code code;
    std::string field = "";
  };
  std::vector<Case> cases = {
      {"the same contact twice", survivor, survivor,
       MergeContacts{survivor_id_, survivor_id_, {}}, Code::kInvalidArgument,
       "merged"},
      {"a malformed id", survivor, merged, MergeContacts{"x", merged_id_, {}},
       Code::kInvalidArgument, "survivor"},
      {"an unknown field", survivor, merged,
       Merge({{"etag", v1::MERGE_FIELD_SOURCE_MERGED}}), Code::kInvalidArgument,
       "field_choices[etag]"},
      {"BOTH on a single-valued field", survivor, merged,
       Merge({{"given_name", v1::MERGE_FIELD_SOURCE_BOTH}}),
       Code::kInvalidArgument, "field_choices[given_name]"},
      {"a missing merged contact", survivor, ContactState(), Merge(),
       Code::kNotFound},
      {"a merged contact of another tenant", survivor,
       Contact(merged_id_, "given_name: 'X'", {}, {}, "globex"), Merge(),
       Code::kNotFound},
      {"a deleted merged contact", survivor, Merged({deleted}), Merge(),
       Code::kFailedPrecondition},
      {"a contact merged elsewhere", survivor, Merged({merged_elsewhere}),
       Merge(), Code::kFailedPrecondition},
      {"an erased survivor", Survivor({erased}), merged, Merge(),
       Code::kFailedPrecondition},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<ContactPairEvents> result =
        DecideMerge(c.survivor, c.merged, c.command, context_, sealer_);
    EXPECT_THAT(result, StatusIs(c.code));
    if (!c.field.empty()) {
      EXPECT_THAT(result, HasViolation(c.field));
    }
  }
}

TEST_F(ContactMergeTest, UnmergeRevertsWhatNobodyChangedSince) {
  ContactState survivor = Survivor();
  ContactState merged = Merged({Related(merged_id_, account_b_)});
  ASSERT_OK_AND_ASSIGN(
      ContactPairEvents merge,
      DecideMerge(survivor, merged,
                  Merge({{"family_name", v1::MERGE_FIELD_SOURCE_MERGED},
                         {"tags", v1::MERGE_FIELD_SOURCE_BOTH}}),
                  context_, sealer_));
  ApplyPair(merge, survivor, merged);
  // After the merge someone changes the job title the merge brought in.
  ContactFields fields;
  fields.personal.set_job_title("Mathematician");
  ASSERT_OK_AND_ASSIGN(
      std::vector<ContactEvent> update,
      Decide(survivor, UpdateContact{survivor_id_, {"job_title"}, fields},
             context_, sealer_));
  for (const ContactEvent& e : update) {
    survivor = Apply(std::move(survivor), e, testing::TestMeta());
  }

  absl::StatusOr<ContactPairEvents> unmerge =
      DecideUnmerge(survivor, merged, UnmergeContacts{survivor_id_, merged_id_},
                    context_, sealer_);
  ASSERT_OK(unmerge);
  ExpectEvents(absl::StatusOr<std::vector<ContactEvent>>(
                   unmerge->survivor_events),
               {{"ContactUnmerged",
                 "contact_id: '" + survivor_id_ + "' unmerged_contact_id: '" +
                     merged_id_ +
                     "' reverted_fields: 'family_name' reverted_fields: 'tags' "
                     "tags: 'vip' returned_relationship_account_ids: '" +
                     account_b_ + "'",
                 R"pb(given_name: "Ada"
                      family_name: "Lovelace"
                      job_title: "Mathematician"
                      emails {
                        address: "ada@example.com"
                        normalized: "ada@example.com"
                      })pb"}});
  ExpectEvents(
      absl::StatusOr<std::vector<ContactEvent>>(unmerge->merged_events),
      {{"ContactUnmergedFrom", "contact_id: '" + merged_id_ +
                                   "' survivor_contact_id: '" + survivor_id_ +
                                   "'"}});
  ApplyPair(*unmerge, survivor, merged);
  EXPECT_TRUE(survivor.merges.empty());
  EXPECT_TRUE(survivor.relationships.empty());
  EXPECT_TRUE(merged.merged_into.empty());
  EXPECT_EQ(merged.relationships.size(), 1u);
  EXPECT_EQ(survivor.tags, std::vector<std::string>{"vip"});
}

TEST_F(ContactMergeTest, UnmergeRejections) {
  ContactState survivor = Survivor();
  ContactState merged = Merged();
  ContactState lone_survivor = survivor;
  ContactState lone_merged = merged;
  ASSERT_OK_AND_ASSIGN(
      ContactPairEvents merge,
      DecideMerge(survivor, merged, Merge(), context_, sealer_));
  ApplyPair(merge, survivor, merged);
  v1::ContactErased erased;
  erased.set_contact_id(survivor_id_);
  ContactState erased_survivor = Apply(survivor, erased, testing::TestMeta());
  v1::ContactMergedInto into_third;
  into_third.set_contact_id(survivor_id_);
  into_third.set_survivor_contact_id(TestId("third"));
  ContactState merged_survivor =
      Apply(survivor, into_third, testing::TestMeta());
  UnmergeContacts unmerge{survivor_id_, merged_id_};
  EXPECT_THAT(
      DecideUnmerge(lone_survivor, lone_merged, unmerge, context_, sealer_),
      StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(
      DecideUnmerge(erased_survivor, merged, unmerge, context_, sealer_),
      StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(
      DecideUnmerge(merged_survivor, merged, unmerge, context_, sealer_),
      StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(
      DecideUnmerge(survivor, ContactState(), unmerge, context_, sealer_),
      StatusIs(Code::kNotFound));
  EXPECT_THAT(DecideUnmerge(survivor, merged,
                            UnmergeContacts{survivor_id_, survivor_id_},
                            context_, sealer_),
              HasViolation("merged"));
}

TEST_F(ContactMergeTest, ErasingTheSurvivorShredsEveryMergedKey) {
  const std::string first_id = TestId("first");
  ContactState first = Contact(first_id, "given_name: 'Ada'", {});
  ContactState merged = Merged();
  // first -> merged, then merged -> survivor: the survivor holds all three.
  ASSERT_OK_AND_ASSIGN(
      ContactPairEvents one,
      DecideMerge(merged, first, MergeContacts{merged_id_, first_id, {}},
                  context_, sealer_));
  ApplyPair(one, merged, first);
  ContactState survivor = Survivor();
  ASSERT_OK_AND_ASSIGN(
      ContactPairEvents two,
      DecideMerge(survivor, merged, Merge(), context_, sealer_));
  ApplyPair(two, survivor, merged);
  ASSERT_OK_AND_ASSIGN(
      std::vector<ContactEvent> erase,
      Decide(survivor, EraseContact{survivor_id_, ""}, context_, sealer_));
  ExpectEvents(absl::StatusOr<std::vector<ContactEvent>>(erase),
               {{"ContactErased",
                 "contact_id: '" + survivor_id_ + "' shredded_key_ids: 'acme/" +
                     survivor_id_ + "' shredded_key_ids: 'acme/" + merged_id_ +
                     "' shredded_key_ids: 'acme/" + first_id + "'"}});
}

}  // namespace
}  // namespace crm::contact
