// ContactService over gRPC in process: Duplicates, merges and incomplete
// records (quality_service.cc).
#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api_test_fixture.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/projections/quality_projections.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "quality_support.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kAccountId[] = "6f1c2a9e-1111-4000-8000-000000000001";
constexpr char kOtherAccountId[] = "6f1c2a9e-1111-4000-8000-000000000002";

class QualityApiTest : public ContactApiFixture {
 protected:
  ServiceDeps Deps() {
    return ServiceDeps{*store_, *engine_, *sealer_, ServiceDeps::Options{}};
  }

  // Runs a command straight through the domain and the store (for records
  // and changes other areas of the API serve: accounts, relationships).
  template <typename Aggregate>
  void MustExecute(const std::string& id,
                   const typename Aggregate::Command& command,
                   const std::string& tenant = "acme") {
    ServiceDeps deps = Deps();
    CommandContext context;
    context.tenant = tenant;
    context.actor = "u1";
    context.now = absl::Now();
    ASSERT_OK_AND_ASSIGN(typename Aggregate::State state,
                         Load<Aggregate>(deps, id));
    ASSERT_OK_AND_ASSIGN(std::vector<typename Aggregate::Event> events,
                         Aggregate::Decide(state, command, context, *sealer_));
    eventstore::StreamAppend append;
    append.stream = Aggregate::Stream(id);
    append.expected_version =
        state.exists() ? eventstore::ExpectedVersion::Exact(state.version)
                       : eventstore::ExpectedVersion::NoStream();
    for (const auto& event : events) {
      eventstore::Envelope& envelope = append.events.emplace_back();
      FillEnvelope(EncodeEvent(event), &envelope);
      envelope.set_tenant(tenant);
      envelope.set_actor("u1");
      *envelope.mutable_occurred_at() = ToTimestamp(context.now);
    }
    std::vector<eventstore::StreamAppend> appends;
    appends.push_back(std::move(append));
    ASSERT_OK(store_->AppendMulti(std::move(appends)).status());
  }

  void MustCreateAccount(const std::string& id, const std::string& name,
                         const std::string& website,
                         const std::string& tenant = "acme") {
    CreateAccount command;
    command.account_id = id;
    command.fields.profile.set_display_name(name);
    command.fields.profile.set_website(website);
    MustExecute<AccountAggregate>(id, command, tenant);
  }

  static std::string IdOfName(const std::string& name) {
    return name.substr(name.find('/') + 1);
  }

  v1::FindDuplicateContactsResponse MustFind(
      v1::FindDuplicateContactsRequest request,
      const std::string& tenant = "acme") {
    v1::FindDuplicateContactsResponse response;
    const grpc::Status status =
        stub_->FindDuplicateContacts(Context(tenant).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::FindDuplicateContactsResponse FindDraft(const v1::Contact& draft,
                                              const std::string& tenant) {
    v1::FindDuplicateContactsRequest request;
    *request.mutable_draft() = draft;
    return MustFind(request, tenant);
  }

  grpc::Status Merge(const std::string& survivor, const std::string& merged,
                     v1::MergeContactsResponse* response,
                     const std::string& request_id = "",
                     const std::string& survivor_etag = "",
                     const std::string& tenant = "acme") {
    v1::MergeContactsRequest request;
    request.set_survivor(survivor);
    request.set_merged(merged);
    request.set_survivor_etag(survivor_etag);
    request.mutable_context()->set_request_id(request_id);
    return stub_->MergeContacts(Context(tenant).get(), request, response);
  }

  grpc::Status Unmerge(const std::string& survivor, const std::string& merged,
                       v1::UnmergeContactsResponse* response) {
    v1::UnmergeContactsRequest request;
    request.set_survivor(survivor);
    request.set_merged(merged);
    return stub_->UnmergeContacts(Context().get(), request, response);
  }

  grpc::Status UpdateJobTitle(const std::string& name,
                              const std::string& title) {
    v1::UpdateContactRequest request;
    request.mutable_contact()->set_name(name);
    request.mutable_contact()->set_job_title(title);
    request.mutable_update_mask()->add_paths("job_title");
    v1::UpdateContactResponse response;
    return stub_->UpdateContact(Context().get(), request, &response);
  }

  // Every page of ListIncompleteRecords, at most 100 pages.
  std::vector<v1::IncompleteRecord> ListIncompleteAll(
      v1::ListIncompleteRecordsRequest request, int page_size, int* pages) {
    std::vector<v1::IncompleteRecord> records;
    request.mutable_page()->set_page_size(page_size);
    *pages = 0;
    for (int page = 0; page < 100; ++page) {
      v1::ListIncompleteRecordsResponse response;
      const grpc::Status status =
          stub_->ListIncompleteRecords(Context().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      ++*pages;
      for (const auto& r : response.records()) records.push_back(r);
      if (response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    return records;
  }
};

std::vector<v1::DuplicateReasonKind> KindsOf(const v1::DuplicateCandidate& c) {
  std::vector<v1::DuplicateReasonKind> kinds;
  for (const auto& reason : c.reasons()) kinds.push_back(reason.kind());
  return kinds;
}

TEST_F(QualityApiTest, FindsTheSameEmailWrittenDifferently) {
  const v1::Contact ada =
      MustCreate(Person("Ada", "Lovelace", "ada.lovelace@example.com"));
  MustCreate(Person("Grace", "Hopper", "grace@example.com"));

  const v1::FindDuplicateContactsResponse found =
      FindDraft(Person("A.", "King", "  Ada.Lovelace@EXAMPLE.com "), "acme");

  ASSERT_THAT(found.candidates(), SizeIs(1));
  EXPECT_EQ(found.candidates(0).record(), ada.name());
  EXPECT_EQ(found.candidates(0).other_record(), "");
  EXPECT_GE(found.candidates(0).score(), 0.95);
  EXPECT_THAT(KindsOf(found.candidates(0)),
              ElementsAre(v1::DUPLICATE_REASON_KIND_EMAIL));
  EXPECT_EQ(found.candidates(0).reasons(0).detail(), "same email address");
}

TEST_F(QualityApiTest, FindsTheSamePhoneInTwoFormats) {
  v1::Contact first = Person("Alan", "Turing");
  first.add_phones()->set_number("+1 650-253-0000");
  const v1::Contact alan = MustCreate(first);
  v1::Contact second = Person("A.", "Turing");
  second.add_phones()->set_number("+16502530000");
  const v1::Contact other = MustCreate(second);

  v1::FindDuplicateContactsRequest request;
  request.set_name(other.name());
  const v1::FindDuplicateContactsResponse found = MustFind(request);

  ASSERT_THAT(found.candidates(), SizeIs(1));
  EXPECT_EQ(found.candidates(0).record(), alan.name());
  EXPECT_EQ(found.candidates(0).other_record(), other.name());
  EXPECT_THAT(KindsOf(found.candidates(0)),
              ElementsAre(v1::DUPLICATE_REASON_KIND_PHONE));
}

TEST_F(QualityApiTest, FindsSimilarNamesAtTheSameAccountOnly) {
  v1::Contact john = Person("John", "Smith");
  john.set_account(fmt::format("accounts/{}", kAccountId));
  const v1::Contact stored = MustCreate(john);
  v1::Contact elsewhere = Person("John", "Smith");
  elsewhere.set_account(fmt::format("accounts/{}", kOtherAccountId));
  MustCreate(elsewhere);

  v1::Contact draft = Person("Jon", "Smith");
  draft.set_account(fmt::format("accounts/{}", kAccountId));
  const v1::FindDuplicateContactsResponse found = FindDraft(draft, "acme");

  ASSERT_THAT(found.candidates(), SizeIs(1));
  EXPECT_EQ(found.candidates(0).record(), stored.name());
  EXPECT_THAT(KindsOf(found.candidates(0)),
              ElementsAre(v1::DUPLICATE_REASON_KIND_NAME_AND_COMPANY));
  EXPECT_GE(found.candidates(0).score(), 0.5);
}

TEST_F(QualityApiTest, LikelyDuplicatesOfAnImportRowMatchTheCompanyByName) {
  MustCreateAccount(kAccountId, "Analytical Engines Ltd", "https://ae.example");
  v1::Contact charles = Person("Charles", "Babbage");
  charles.set_account(fmt::format("accounts/{}", kAccountId));
  const v1::Contact stored = MustCreate(charles);

  ContactFields row;
  row.personal.set_given_name("Charles");
  row.personal.set_family_name("Babage");
  ServiceDeps deps = Deps();
  // The reads of the support function do not wait: wait here.
  ASSERT_OK(engine_->WaitForPosition(projections::kDataQualityProjection,
                                     store_->LastPosition(), absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(
      std::vector<LikelyDuplicate> found,
      LikelyDuplicateContacts(deps, "acme", row, "ANALYTICAL ENGINES LTD."));

  ASSERT_THAT(found, SizeIs(1));
  EXPECT_EQ(found[0].id, IdOfName(stored.name()));
  EXPECT_EQ(found[0].score.reasons.at(0).evidence,
            DuplicateEvidence::kNameAndCompany);
}

TEST_F(QualityApiTest, DuplicatesAreNotFoundAcrossTenants) {
  const v1::Contact theirs =
      MustCreate(Person("Ada", "Lovelace", "ada@example.com"), "globex");

  EXPECT_THAT(FindDraft(Person("Ada", "Lovelace", "ada@example.com"), "acme")
                  .candidates(),
              IsEmpty());
  v1::FindDuplicateContactsRequest request;
  request.set_name(theirs.name());
  v1::FindDuplicateContactsResponse response;
  EXPECT_EQ(
      stub_->FindDuplicateContacts(Context("acme").get(), request, &response)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
  request.clear_name();
  EXPECT_THAT(MustFind(request, "acme").candidates(), IsEmpty());
}

TEST_F(QualityApiTest, TenantWidePairsAreListedOncePageByPage) {
  // Pairs: (a1, a2) by email and phone, (b1, b2) by email; c is alone.
  v1::Contact a = Person("Ada", "Lovelace", "ada@example.com");
  a.add_phones()->set_number("+16502530000");
  const v1::Contact a1 = MustCreate(a);
  const v1::Contact a2 = MustCreate(a);
  const v1::Contact b1 = MustCreate(Person("Bob", "Byte", "bob@example.com"));
  const v1::Contact b2 = MustCreate(Person("Rob", "Byte", "BOB@example.com"));
  MustCreate(Person("Cy", "Alone", "cy@example.com"));

  std::vector<std::pair<std::string, std::string>> pairs;
  v1::FindDuplicateContactsRequest request;
  request.mutable_page()->set_page_size(1);
  int pages = 0;
  for (; pages < 20; ++pages) {
    const v1::FindDuplicateContactsResponse response = MustFind(request);
    ASSERT_LE(response.candidates_size(), 1);
    for (const auto& c : response.candidates()) {
      pairs.emplace_back(c.record(), c.other_record());
    }
    if (response.page().next_page_token().empty()) break;
    request.mutable_page()->set_page_token(response.page().next_page_token());
  }
  std::sort(pairs.begin(), pairs.end());
  auto pair_of = [](const v1::Contact& x, const v1::Contact& y) {
    return std::make_pair(std::min(x.name(), y.name()),
                          std::max(x.name(), y.name()));
  };
  std::vector<std::pair<std::string, std::string>> expected = {pair_of(a1, a2),
                                                               pair_of(b1, b2)};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(pairs, expected);
  EXPECT_GE(pages, 2);
}

TEST_F(QualityApiTest, FindRejectsBadInputNamingTheField) {
  v1::FindDuplicateContactsRequest request;
  request.set_min_score(1.5);
  v1::FindDuplicateContactsResponse response;
  grpc::Status status =
      stub_->FindDuplicateContacts(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("min_score"));

  request.set_min_score(0);
  request.mutable_page()->set_page_token("not-a-token");
  status = stub_->FindDuplicateContacts(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("page_token"));
}

TEST_F(QualityApiTest, MergeMovesRelationshipsRedirectsAndUnmergeRestores) {
  const v1::Contact survivor =
      MustCreate(Person("Ada", "Lovelace", "ada@example.com"));
  v1::Contact dup = Person("Ada", "Lovelace", "ada.l@example.com");
  dup.set_job_title("Analyst");
  const v1::Contact merged = MustCreate(dup);
  MustExecute<ContactAggregate>(
      IdOfName(merged.name()),
      AddRelationship{IdOfName(merged.name()), kAccountId, {"buyer"}});

  v1::MergeContactsRequest request;
  request.set_survivor(survivor.name());
  request.set_merged(merged.name());
  (*request.mutable_field_choices())["emails"] = v1::MERGE_FIELD_SOURCE_BOTH;
  v1::MergeContactsResponse response;
  const grpc::Status status =
      stub_->MergeContacts(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  EXPECT_EQ(response.survivor().name(), survivor.name());
  EXPECT_THAT(response.survivor().emails(), SizeIs(2));
  EXPECT_EQ(response.survivor().job_title(), "Analyst");  // Survivor's empty.
  EXPECT_GT(response.result().global_position(), 0u);
  ASSERT_OK_AND_ASSIGN(
      ContactState after,
      Load<ContactAggregate>(Deps(), IdOfName(survivor.name())));
  EXPECT_TRUE(after.relationships.contains(kAccountId));
  v1::Contact got;
  ASSERT_TRUE(Get(merged.name(), &got).ok());
  EXPECT_EQ(got.name(), survivor.name());  // Redirected.
  // The merged contact is no duplicate candidate any more.
  // After the unmerge the two share only their names (0.30).
  v1::FindDuplicateContactsRequest find;
  find.set_name(survivor.name());
  find.set_min_score(0.25);
  EXPECT_THAT(MustFind(find).candidates(), IsEmpty());

  v1::UnmergeContactsResponse unmerged;
  const grpc::Status undone =
      Unmerge(survivor.name(), merged.name(), &unmerged);
  ASSERT_TRUE(undone.ok()) << undone.error_message();
  EXPECT_EQ(unmerged.restored().state(), v1::RECORD_STATE_ACTIVE);
  EXPECT_EQ(unmerged.restored().job_title(), "Analyst");
  EXPECT_THAT(unmerged.survivor().emails(), SizeIs(1));
  EXPECT_EQ(unmerged.survivor().job_title(), "");
  ASSERT_OK_AND_ASSIGN(
      after, Load<ContactAggregate>(Deps(), IdOfName(survivor.name())));
  EXPECT_FALSE(after.relationships.contains(kAccountId));
  ASSERT_TRUE(Get(merged.name(), &got).ok());
  EXPECT_EQ(got.name(), merged.name());
  EXPECT_THAT(MustFind(find).candidates(), SizeIs(1));
}

TEST_F(QualityApiTest, MergeRefusesSelfMergedDeletedAndUnknownWithNames) {
  const v1::Contact a = MustCreate(Person("Ada", "Lovelace"));
  const v1::Contact b = MustCreate(Person("Ada", "Byron"));
  const v1::Contact c = MustCreate(Person("Ada", "King"));
  v1::MergeContactsResponse response;

  grpc::Status status = Merge(a.name(), a.name(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("merged"));

  status = Merge(a.name(), "contacts/not a uuid", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("merged"));

  status = Merge(a.name(), "contacts/6f1c2a9e-2222-4000-8000-000000000009",
                 &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  ASSERT_TRUE(Merge(a.name(), b.name(), &response).ok());
  status = Merge(c.name(), b.name(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr(IdOfName(a.name())));

  v1::DeleteContactRequest remove;
  remove.set_name(c.name());
  v1::DeleteContactResponse removed;
  ASSERT_TRUE(stub_->DeleteContact(Context().get(), remove, &removed).ok());
  status = Merge(a.name(), c.name(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // Another tenant's contact is not found, and nothing changed.
  status = Merge(a.name(), c.name(), &response, "", "", "globex");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  v1::UnmergeContactsResponse unmerged;
  status = Unmerge(a.name(), c.name(), &unmerged);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(QualityApiTest, MergeWithAStaleEtagChangesNothing) {
  const v1::Contact a = MustCreate(Person("Ada", "Lovelace"));
  const v1::Contact b = MustCreate(Person("Ada", "Lovelace"));
  ASSERT_TRUE(UpdateJobTitle(a.name(), "Countess").ok());

  v1::MergeContactsResponse response;
  const grpc::Status status =
      Merge(a.name(), b.name(), &response, "", /*survivor_etag=*/a.etag());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_OK_AND_ASSIGN(ContactState merged,
                       Load<ContactAggregate>(Deps(), IdOfName(b.name())));
  EXPECT_TRUE(merged.merged_into.empty());
  EXPECT_EQ(merged.version, 1u);
}

TEST_F(QualityApiTest, ConcurrentMergeAndUpdatesLeaveNothingHalfApplied) {
  const v1::Contact a = MustCreate(Person("Ada", "Lovelace"));
  const v1::Contact b = MustCreate(Person("Ada", "Lovelace"));
  std::atomic<bool> go{false};
  std::vector<grpc::StatusCode> update_codes;
  std::thread updater([&] {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < 20; ++i) {
      update_codes.push_back(
          UpdateJobTitle(b.name(), fmt::format("title {}", i)).error_code());
    }
  });
  go.store(true);
  v1::MergeContactsResponse response;
  const grpc::Status merge = Merge(a.name(), b.name(), &response);
  updater.join();

  EXPECT_TRUE(merge.ok() || merge.error_code() == grpc::StatusCode::ABORTED ||
              merge.error_code() == grpc::StatusCode::FAILED_PRECONDITION)
      << merge.error_message();
  for (grpc::StatusCode code : update_codes) {
    EXPECT_TRUE(code == grpc::StatusCode::OK ||
                code == grpc::StatusCode::ABORTED ||
                code == grpc::StatusCode::FAILED_PRECONDITION)
        << code;
  }
  // Both streams or neither: the survivor records the merge exactly when
  // the merged contact points at it.
  ASSERT_OK_AND_ASSIGN(ContactState survivor,
                       Load<ContactAggregate>(Deps(), IdOfName(a.name())));
  ASSERT_OK_AND_ASSIGN(ContactState merged,
                       Load<ContactAggregate>(Deps(), IdOfName(b.name())));
  EXPECT_EQ(merge.ok(), !merged.merged_into.empty());
  EXPECT_EQ(survivor.merges.size(), merged.merged_into.empty() ? 0u : 1u);
}

TEST_F(QualityApiTest, MergeRetriedWithTheSameRequestIdMergesOnce) {
  const v1::Contact a = MustCreate(Person("Ada", "Lovelace"));
  const v1::Contact b = MustCreate(Person("Ada", "Lovelace"));
  v1::MergeContactsResponse first;
  v1::MergeContactsResponse again;
  ASSERT_TRUE(Merge(a.name(), b.name(), &first, "merge-1").ok());
  const grpc::Status status = Merge(a.name(), b.name(), &again, "merge-1");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(again.result().global_position(), first.result().global_position());
  EXPECT_EQ(again.result().etag(), first.result().etag());
  ASSERT_OK_AND_ASSIGN(ContactState survivor,
                       Load<ContactAggregate>(Deps(), IdOfName(a.name())));
  EXPECT_THAT(survivor.merges, SizeIs(1));
}

TEST_F(QualityApiTest, AccountsAreFoundByDomainMergedAndUnmerged) {
  MustCreateAccount(kAccountId, "Analytical Engines", "https://ae.example");
  MustCreateAccount(kOtherAccountId, "Analytical Engines Ltd",
                    "http://www.AE.example/about");
  const std::string survivor = fmt::format("accounts/{}", kAccountId);
  const std::string merged = fmt::format("accounts/{}", kOtherAccountId);

  v1::FindDuplicateAccountsRequest find;
  find.set_name(survivor);
  v1::FindDuplicateAccountsResponse found;
  ASSERT_TRUE(stub_->FindDuplicateAccounts(Context().get(), find, &found).ok());
  ASSERT_THAT(found.candidates(), SizeIs(1));
  EXPECT_EQ(found.candidates(0).record(), merged);
  EXPECT_EQ(found.candidates(0).reasons(0).kind(),
            v1::DUPLICATE_REASON_KIND_DOMAIN);
  v1::FindDuplicateAccountsResponse theirs;
  EXPECT_EQ(stub_->FindDuplicateAccounts(Context("globex").get(), find, &theirs)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Tenant-wide: the one pair, once.
  v1::FindDuplicateAccountsRequest all;
  v1::FindDuplicateAccountsResponse pairs;
  ASSERT_TRUE(stub_->FindDuplicateAccounts(Context().get(), all, &pairs).ok());
  ASSERT_THAT(pairs.candidates(), SizeIs(1));
  EXPECT_EQ(pairs.candidates(0).record(), std::min(survivor, merged));
  EXPECT_EQ(pairs.candidates(0).other_record(), std::max(survivor, merged));
  EXPECT_TRUE(pairs.page().next_page_token().empty());

  v1::MergeAccountsRequest merge;
  merge.set_survivor(survivor);
  merge.set_merged(merged);
  (*merge.mutable_field_choices())["display_name"] =
      v1::MERGE_FIELD_SOURCE_MERGED;
  v1::MergeAccountsResponse merge_response;
  grpc::Status status =
      stub_->MergeAccounts(Context().get(), merge, &merge_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(merge_response.survivor().display_name(), "Analytical Engines Ltd");
  status = stub_->MergeAccounts(Context().get(), merge, &merge_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::UnmergeAccountsRequest unmerge;
  unmerge.set_survivor(survivor);
  unmerge.set_merged(merged);
  v1::UnmergeAccountsResponse unmerged;
  status = stub_->UnmergeAccounts(Context().get(), unmerge, &unmerged);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(unmerged.survivor().display_name(), "Analytical Engines");
  EXPECT_EQ(unmerged.restored().state(), v1::RECORD_STATE_ACTIVE);
}

TEST_F(QualityApiTest, IncompleteRecordsAreListedWithMissingFieldsPaginated) {
  v1::Contact full = Person("Ada", "Lovelace", "ada@example.com");
  full.add_phones()->set_number("+16502530000");
  MustCreate(full);
  const v1::Contact no_phone =
      MustCreate(Person("Grace", "Hopper", "grace@example.com"));
  const v1::Contact nothing = MustCreate(Person("Alan", "Turing"));
  v1::Contact phone_only = Person("Cy", "Phone");
  phone_only.add_phones()->set_number("+16502530001");
  const v1::Contact no_email = MustCreate(phone_only);
  MustCreate(Person("Not", "Mine", "x@example.com"), "globex");

  v1::ListIncompleteRecordsRequest request;
  request.set_kind(v1::RECORD_KIND_CONTACT);
  request.add_required_fields("phones");
  request.add_required_fields("emails");
  int pages = 0;
  const std::vector<v1::IncompleteRecord> records =
      ListIncompleteAll(request, 1, &pages);

  std::map<std::string, std::vector<std::string>> missing;
  for (const auto& r : records) {
    missing[r.record()].assign(r.missing_fields().begin(),
                               r.missing_fields().end());
  }
  EXPECT_EQ(missing, (std::map<std::string, std::vector<std::string>>{
                         {no_phone.name(), {"phones"}},
                         {nothing.name(), {"phones", "emails"}},
                         {no_email.name(), {"emails"}}}));
  EXPECT_GE(pages, 3);
  EXPECT_TRUE(std::is_sorted(
      records.begin(), records.end(),
      [](const auto& x, const auto& y) { return x.record() < y.record(); }));

  // A deleted contact is not listed; the default list applies.
  v1::DeleteContactRequest remove;
  remove.set_name(nothing.name());
  v1::DeleteContactResponse removed;
  ASSERT_TRUE(stub_->DeleteContact(Context().get(), remove, &removed).ok());
  request.clear_required_fields();
  const std::vector<v1::IncompleteRecord> by_default =
      ListIncompleteAll(request, 10, &pages);
  for (const auto& r : by_default) {
    EXPECT_NE(r.record(), nothing.name());
    EXPECT_THAT(r.missing_fields(), ::testing::Contains("account"));
  }
  EXPECT_THAT(by_default, SizeIs(3));
}

TEST_F(QualityApiTest, IncompleteRecordsRejectBadKindAndFields) {
  v1::ListIncompleteRecordsRequest request;
  v1::ListIncompleteRecordsResponse response;
  grpc::Status status =
      stub_->ListIncompleteRecords(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("kind"));

  request.set_kind(v1::RECORD_KIND_ACCOUNT);
  request.add_required_fields("website");
  request.add_required_fields("shoe_size");
  status = stub_->ListIncompleteRecords(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr("required_fields[1]"));
}

TEST_F(QualityApiTest, ErasedContactLeavesTheDuplicatesIndex) {
  const v1::Contact ada =
      MustCreate(Person("Ada", "Lovelace", "ada@example.com"));
  MustExecute<ContactAggregate>(IdOfName(ada.name()),
                                EraseContact{IdOfName(ada.name()), "request"});

  EXPECT_THAT(FindDraft(Person("Ada", "Lovelace", "ada@example.com"), "acme")
                  .candidates(),
              IsEmpty());
  v1::ListIncompleteRecordsRequest request;
  request.set_kind(v1::RECORD_KIND_CONTACT);
  int pages = 0;
  EXPECT_THAT(ListIncompleteAll(request, 10, &pages), IsEmpty());
  // No plaintext blocking key is left in the read model.
  ASSERT_OK_AND_ASSIGN(auto view,
                       engine_->View(projections::kDataQualityProjection));
  for (const char* prefix : {"acme/ck/", "acme/cx/"}) {
    ASSERT_OK_AND_ASSIGN(auto entries, view->Scan(prefix, "", 10));
    EXPECT_THAT(entries, IsEmpty()) << prefix;
  }
}

}  // namespace
}  // namespace crm::contact::api
