// ContactService over gRPC in process: Timeline, history and as_of reads
// (history_service.cc) of contacts, accounts and activities.
#include <string>
#include <vector>

#include "crm/contact/domain/activity.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/sealer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "records_test_support.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class HistoryApiTest : public RecordsApiFixture {
 protected:
  // Updates the fields of `mask` to those of `contact` as `actor`.
  v1::UpdateContactResponse MustUpdate(const v1::Contact& contact,
                                       const std::vector<std::string>& mask,
                                       const std::string& actor = "u1") {
    v1::UpdateContactRequest request;
    *request.mutable_contact() = contact;
    for (const std::string& path : mask) {
      request.mutable_update_mask()->add_paths(path);
    }
    v1::UpdateContactResponse response;
    const grpc::Status status =
        stub_->UpdateContact(Context("acme", actor).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status History(const std::string& name, v1::ListHistoryResponse* out,
                       int page_size = 0, const std::string& token = "",
                       const std::string& tenant = "acme") {
    v1::ListHistoryRequest request;
    request.set_name(name);
    request.mutable_page()->set_page_size(page_size);
    request.mutable_page()->set_page_token(token);
    return stub_->ListHistory(Context(tenant).get(), request, out);
  }

  grpc::Status GetAsOf(const std::string& name, int64_t version,
                       const google::protobuf::Timestamp* time,
                       v1::Contact* out, const std::string& tenant = "acme") {
    v1::GetContactRequest request;
    request.set_name(name);
    request.set_as_of_version(version);
    if (time != nullptr) *request.mutable_as_of_time() = *time;
    return stub_->GetContact(Context(tenant).get(), request, out);
  }

  grpc::Status GetAccountAsOf(const std::string& name, int64_t version,
                              const google::protobuf::Timestamp* time,
                              v1::Account* out,
                              const std::string& tenant = "acme") {
    v1::GetAccountRequest request;
    request.set_name(name);
    request.set_as_of_version(version);
    if (time != nullptr) *request.mutable_as_of_time() = *time;
    return stub_->GetAccount(Context(tenant).get(), request, out);
  }

  // Sets the account's industry as `actor`.
  v1::Account MustSetIndustry(const std::string& name,
                              const std::string& industry,
                              const std::string& actor = "u1") {
    v1::UpdateAccountRequest request;
    request.mutable_account()->set_name(name);
    request.mutable_account()->set_industry(industry);
    request.mutable_update_mask()->add_paths("industry");
    v1::UpdateAccountResponse response;
    const grpc::Status status =
        stub_->UpdateAccount(Context("acme", actor).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.account();
  }

  // Logs a task about the contact `contact` through the API.
  v1::Activity MustLogTask(const std::string& contact,
                           const std::string& subject) {
    v1::CreateActivityRequest request;
    v1::Activity& activity = *request.mutable_activity();
    activity.set_kind(v1::ACTIVITY_KIND_TASK);
    activity.set_contact(contact);
    activity.set_subject(subject);
    v1::CreateActivityResponse response;
    const grpc::Status status =
        stub_->CreateActivity(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.activity();
  }

  void MustSetSubject(const std::string& name, const std::string& subject,
                      const std::string& actor) {
    v1::UpdateActivityRequest request;
    request.mutable_activity()->set_name(name);
    request.mutable_activity()->set_subject(subject);
    request.mutable_update_mask()->add_paths("subject");
    v1::UpdateActivityResponse response;
    const grpc::Status status =
        stub_->UpdateActivity(Context("acme", actor).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  void MustComplete(const std::string& name, const std::string& actor) {
    v1::CompleteActivityRequest request;
    request.set_name(name);
    v1::CompleteActivityResponse response;
    const grpc::Status status = stub_->CompleteActivity(
        Context("acme", actor).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  // The versions of every page of a history, at most 20 pages of
  // `page_size`.
  std::vector<int64_t> AllVersions(const std::string& name, int page_size) {
    std::vector<int64_t> versions;
    std::string token;
    for (int page = 0; page < 20; ++page) {
      v1::ListHistoryResponse response;
      const grpc::Status status = History(name, &response, page_size, token);
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_LE(response.entries_size(), page_size);
      for (const v1::HistoryEntry& e : response.entries()) {
        versions.push_back(e.version());
      }
      token = response.page().next_page_token();
      if (token.empty()) break;
    }
    return versions;
  }

  grpc::Status Timeline(const std::string& parent,
                        v1::ListTimelineEntriesResponse* out, int page_size = 0,
                        const std::string& token = "",
                        const std::string& tenant = "acme") {
    v1::ListTimelineEntriesRequest request;
    request.set_parent(parent);
    request.mutable_page()->set_page_size(page_size);
    request.mutable_page()->set_page_token(token);
    request.set_min_position(store_->LastPosition());
    return stub_->ListTimelineEntries(Context(tenant).get(), request, out);
  }

  // Every entry of a timeline, page by page (at most 50 pages).
  std::vector<v1::TimelineEntry> WholeTimeline(const std::string& parent,
                                               int page_size) {
    std::vector<v1::TimelineEntry> entries;
    std::string token;
    for (int page = 0; page < 50; ++page) {
      v1::ListTimelineEntriesResponse response;
      const grpc::Status status = Timeline(parent, &response, page_size, token);
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_LE(response.entries_size(), page_size);
      for (const auto& e : response.entries()) entries.push_back(e);
      token = response.page().next_page_token();
      if (token.empty()) break;
    }
    return entries;
  }

  // Logs a call about `contact_id` (and `account_id`) through the domain,
  // appended to the store as the activity API would.
  void LogCall(const std::string& activity_id, const std::string& contact_id,
               const std::string& account_id, const std::string& subject) {
    LogActivity command;
    command.activity_id = activity_id;
    command.fields.kind = v1::ACTIVITY_KIND_CALL;
    command.fields.contact_id = contact_id;
    command.fields.account_id = account_id;
    command.fields.content.set_subject(subject);
    CommandContext context;
    context.tenant = "acme";
    context.actor = "u7";
    context.now = absl::Now();
    ASSERT_OK_AND_ASSIGN(
        std::vector<ActivityEvent> events,
        Decide(ActivityState(), ActivityCommand(command), context, *sealer_));
    std::vector<eventstore::Envelope> envelopes;
    for (const ActivityEvent& event : events) {
      eventstore::Envelope& envelope = envelopes.emplace_back();
      FillEnvelope(EncodeEvent(event), &envelope);
      envelope.set_tenant(context.tenant);
      envelope.set_actor(context.actor);
      *envelope.mutable_occurred_at() = ToTimestamp(context.now);
    }
    ASSERT_OK(store_
                  ->Append(ActivityStream(activity_id),
                           eventstore::ExpectedVersion::NoStream(),
                           std::move(envelopes))
                  .status());
  }

  static std::string IdOf(const v1::Contact& contact) {
    return ParseResourceName(RecordType::kContact, contact.name()).value();
  }

  static std::vector<std::string> Summaries(
      const std::vector<v1::TimelineEntry>& entries) {
    std::vector<std::string> summaries;
    for (const auto& e : entries) summaries.push_back(e.summary());
    return summaries;
  }

  static std::vector<std::string> Fields(const v1::HistoryEntry& entry) {
    std::vector<std::string> fields;
    for (const v1::FieldChange& change : entry.changes()) {
      fields.push_back(change.field());
    }
    return fields;
  }
};

TEST_F(HistoryApiTest, ListHistoryShowsWhoWhenAndWhatChanged) {
  v1::Contact created = MustCreate(Person("Ada", "Lovelace", "ada@x.example"));
  v1::Contact change = Person("Augusta", "");
  change.set_name(created.name());
  MustUpdate(change, {"given_name"}, "u2");
  change.add_tags("vip");
  MustUpdate(change, {"tags"}, "u3");

  v1::ListHistoryResponse history;
  ASSERT_TRUE(History(created.name(), &history).ok());
  ASSERT_EQ(history.entries_size(), 3);
  const v1::HistoryEntry& first = history.entries(0);
  EXPECT_EQ(first.version(), 1);
  EXPECT_EQ(first.actor(), "u1");
  EXPECT_EQ(first.event_type(), "crm.contact.v1.ContactCreated");
  EXPECT_FALSE(first.event_id().empty());
  EXPECT_EQ(first.occur_time().seconds(), created.create_time().seconds());
  EXPECT_THAT(Fields(first),
              ::testing::IsSupersetOf({"given_name", "family_name", "emails",
                                       "owner", "state", "source"}));
  for (const v1::FieldChange& c : first.changes()) {
    EXPECT_EQ(c.old_value_json(), "") << c.field();
    if (c.field() == "given_name") {
      EXPECT_EQ(c.new_value_json(), "\"Ada\"");
    }
    if (c.field() == "state") {
      EXPECT_EQ(c.new_value_json(), "\"RECORD_STATE_ACTIVE\"");
    }
  }

  const v1::HistoryEntry& second = history.entries(1);
  EXPECT_EQ(second.version(), 2);
  EXPECT_EQ(second.actor(), "u2");
  EXPECT_EQ(second.event_type(), "crm.contact.v1.ContactUpdated");
  ASSERT_THAT(Fields(second), ElementsAre("given_name"));
  EXPECT_EQ(second.changes(0).old_value_json(), "\"Ada\"");
  EXPECT_EQ(second.changes(0).new_value_json(), "\"Augusta\"");

  const v1::HistoryEntry& third = history.entries(2);
  EXPECT_EQ(third.actor(), "u3");
  ASSERT_THAT(Fields(third), ElementsAre("tags"));
  EXPECT_EQ(third.changes(0).old_value_json(), "");
  EXPECT_EQ(third.changes(0).new_value_json(), "[\"vip\"]");
  EXPECT_THAT(history.page().next_page_token(), IsEmpty());
}

TEST_F(HistoryApiTest, ListHistoryPagesByVersionInOrder) {
  v1::Contact created = MustCreate(Person("Ada", "Lovelace"));
  v1::Contact change = Person("Ada", "Lovelace");
  change.set_name(created.name());
  for (int i = 0; i < 4; ++i) {
    change.set_job_title(fmt::format("title {}", i));
    MustUpdate(change, {"job_title"});
  }
  std::vector<int64_t> versions;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    v1::ListHistoryResponse response;
    ASSERT_TRUE(History(created.name(), &response, 2, token).ok());
    EXPECT_LE(response.entries_size(), 2);
    for (const v1::HistoryEntry& e : response.entries()) {
      versions.push_back(e.version());
    }
    token = response.page().next_page_token();
    if (token.empty()) break;
  }
  EXPECT_THAT(versions, ElementsAre(1, 2, 3, 4, 5));

  // A token of another record's history is refused.
  v1::Contact other = MustCreate(Person("Grace", "Hopper"));
  v1::ListHistoryResponse first;
  ASSERT_TRUE(History(created.name(), &first, 2).ok());
  v1::ListHistoryResponse response;
  EXPECT_EQ(History(other.name(), &response, 2, first.page().next_page_token())
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(HistoryApiTest, ListHistoryOfAnotherTenantsOrUnknownRecordIsNotFound) {
  v1::Contact created = MustCreate(Person("Ada", "Lovelace"));
  v1::ListHistoryResponse response;
  EXPECT_EQ(History(created.name(), &response, 0, "", "globex").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(response.entries(), IsEmpty());
  EXPECT_EQ(History("contacts/00000000-0000-4000-8000-000000000000", &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(History("things/1", &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(HistoryApiTest, ListHistoryOfAnErasedPersonIsRedactedNotAnError) {
  v1::Contact created = MustCreate(Person("Ada", "Lovelace", "ada@x.example"));
  v1::Contact change = Person("Augusta", "Lovelace");
  change.set_name(created.name());
  MustUpdate(change, {"given_name"});
  ASSERT_OK_AND_ASSIGN(std::string id,
                       ParseResourceName(RecordType::kContact, created.name()));
  ASSERT_OK(keys_->Delete(KeyIdFor("acme", id)));

  v1::ListHistoryResponse history;
  const grpc::Status status = History(created.name(), &history);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(history.entries_size(), 2);
  for (const v1::HistoryEntry& entry : history.entries()) {
    for (const v1::FieldChange& c : entry.changes()) {
      EXPECT_EQ(c.old_value_json().find("Ada"), std::string::npos);
      EXPECT_EQ(c.new_value_json().find("Ada"), std::string::npos);
      EXPECT_EQ(c.new_value_json().find("Augusta"), std::string::npos);
    }
  }
  EXPECT_THAT(Fields(history.entries(1)), ElementsAre("personal_data"));
}

TEST_F(HistoryApiTest, GetContactAsOfVersionReturnsTheRecordAsItWas) {
  v1::Contact created = MustCreate(Person("Ada", "Lovelace"));
  v1::Contact change = Person("Augusta", "King");
  change.set_name(created.name());
  MustUpdate(change, {"given_name", "family_name"});

  v1::Contact then;
  ASSERT_TRUE(GetAsOf(created.name(), 1, nullptr, &then).ok());
  EXPECT_EQ(then.given_name(), "Ada");
  EXPECT_EQ(then.family_name(), "Lovelace");
  EXPECT_EQ(then.etag(), "1");
  ASSERT_TRUE(GetAsOf(created.name(), 2, nullptr, &then).ok());
  EXPECT_EQ(then.given_name(), "Augusta");
  EXPECT_EQ(then.etag(), "2");

  EXPECT_EQ(GetAsOf(created.name(), 3, nullptr, &then).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetAsOf(created.name(), -1, nullptr, &then).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetAsOf(created.name(), 1, nullptr, &then, "globex").error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(HistoryApiTest, GetContactAsOfTimeReturnsTheRecordAsItWasThen) {
  v1::Contact created = MustCreate(Person("Ada", "Lovelace"));
  v1::Contact change = Person("Augusta", "");
  change.set_name(created.name());
  const v1::Contact updated = MustUpdate(change, {"given_name"}).contact();
  ASSERT_NE(FromTimestamp(created.update_time()),
            FromTimestamp(updated.update_time()));

  v1::Contact then;
  google::protobuf::Timestamp at = created.update_time();
  ASSERT_TRUE(GetAsOf(created.name(), 0, &at, &then).ok());
  EXPECT_EQ(then.given_name(), "Ada");
  at = updated.update_time();
  ASSERT_TRUE(GetAsOf(created.name(), 0, &at, &then).ok());
  EXPECT_EQ(then.given_name(), "Augusta");

  at = ToTimestamp(FromTimestamp(created.create_time()) - absl::Seconds(1));
  EXPECT_EQ(GetAsOf(created.name(), 0, &at, &then).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Both set: refused.
  at = updated.update_time();
  EXPECT_EQ(GetAsOf(created.name(), 1, &at, &then).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetAsOf(created.name(), 0, &at, &then, "globex").error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(HistoryApiTest, TimelineListsChangesNewestFirstPageByPage) {
  v1::Contact created = MustCreate(Person("Ada", "Lovelace"));
  v1::Contact change = Person("Ada", "Lovelace");
  change.set_name(created.name());
  for (int i = 0; i < 4; ++i) {
    change.set_job_title(fmt::format("title {}", i));
    MustUpdate(change, {"job_title"}, fmt::format("u{}", i));
  }
  MustCreate(Person("Grace", "Hopper"));  // Not on Ada's timeline.

  const std::vector<v1::TimelineEntry> entries =
      WholeTimeline(created.name(), 2);
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_THAT(
      Summaries(entries),
      ElementsAre("Contact updated: job_title", "Contact updated: job_title",
                  "Contact updated: job_title", "Contact updated: job_title",
                  "Contact created"));
  EXPECT_EQ(entries[0].actor(), "u3");
  EXPECT_EQ(entries[4].event_type(), "crm.contact.v1.ContactCreated");
  EXPECT_EQ(entries[4].source_service(), "contact");
  EXPECT_EQ(entries[4].resource(), created.name());
  for (size_t i = 1; i < entries.size(); ++i) {
    EXPECT_GE(FromTimestamp(entries[i - 1].occur_time()),
              FromTimestamp(entries[i].occur_time()));
  }
  // Page by page equals one big page.
  v1::ListTimelineEntriesResponse all;
  ASSERT_TRUE(Timeline(created.name(), &all, 100).ok());
  ASSERT_EQ(all.entries_size(), 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(all.entries(i).event_id(), entries[i].event_id());
  }
}

// Ids are canonical UUIDs (ids.h); these name a call and an account that
// only the timeline's activity refers to.
constexpr char kCallId[] = "00000000-0000-4000-8000-0000000000c1";
constexpr char kAccountId[] = "00000000-0000-4000-8000-0000000000a1";

TEST_F(HistoryApiTest, TimelineShowsLinkedActivitiesUntilThePersonIsErased) {
  v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  LogCall(kCallId, IdOf(ada), kAccountId, "Discuss the offer");

  std::vector<v1::TimelineEntry> entries = WholeTimeline(ada.name(), 10);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].summary(), "Call logged: Discuss the offer");
  EXPECT_EQ(entries[0].resource(), "activities/" + std::string(kCallId));
  EXPECT_EQ(entries[0].actor(), "u7");
  EXPECT_EQ(entries[0].event_type(), "crm.contact.v1.ActivityLogged");
  // The account's timeline shows it too.
  std::vector<v1::TimelineEntry> account =
      WholeTimeline("accounts/" + std::string(kAccountId), 10);
  ASSERT_EQ(account.size(), 1u);
  EXPECT_EQ(account[0].summary(), "Call logged: Discuss the offer");

  // Erased (its key deleted): the subject is gone, the entry stays.
  ASSERT_OK(keys_->Delete(KeyIdFor("acme", IdOf(ada))));
  entries = WholeTimeline(ada.name(), 10);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].summary(), "");
  EXPECT_EQ(entries[0].resource(), "activities/" + std::string(kCallId));
}

TEST_F(HistoryApiTest, TimelineIsScopedByTenantAndChecksItsRequest) {
  v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::ListTimelineEntriesResponse response;
  EXPECT_EQ(Timeline(ada.name(), &response, 0, "", "globex").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(response.entries(), IsEmpty());
  EXPECT_EQ(Timeline("contacts/00000000-0000-4000-8000-000000000000", &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Timeline("activities/x", &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Timeline(ada.name(), &response, 0, "garbage").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListTimelineEntriesRequest request;
  request.set_parent(ada.name());
  request.add_source_services("billing");
  EXPECT_EQ(stub_->ListTimelineEntries(Context().get(), request, &response)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.clear_source_services();
  request.add_source_services("sales");  // No entry from sales yet.
  ASSERT_TRUE(
      stub_->ListTimelineEntries(Context().get(), request, &response).ok());
  EXPECT_THAT(response.entries(), IsEmpty());
}

// ---- Accounts
// ----------------------------------------------------------------

TEST_F(HistoryApiTest, AccountHistoryShowsWhoWhenAndWhatChanged) {
  const v1::Account created =
      MustCreateAccount(Company("Acme", "acme.example"));
  MustSetIndustry(created.name(), "mining", "u2");
  v1::DeleteAccountRequest del;
  del.set_name(created.name());
  v1::DeleteAccountResponse deleted;
  ASSERT_TRUE(
      stub_->DeleteAccount(Context("acme", "u3").get(), del, &deleted).ok());

  v1::ListHistoryResponse history;
  const grpc::Status status = History(created.name(), &history);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(history.entries_size(), 3);
  const v1::HistoryEntry& first = history.entries(0);
  EXPECT_EQ(first.version(), 1);
  EXPECT_EQ(first.actor(), "u1");
  EXPECT_EQ(first.event_type(), "crm.contact.v1.AccountCreated");
  EXPECT_FALSE(first.event_id().empty());
  EXPECT_EQ(first.occur_time().seconds(), created.create_time().seconds());
  EXPECT_THAT(Fields(first), ::testing::IsSupersetOf({"display_name", "website",
                                                      "domain", "state"}));
  for (const v1::FieldChange& c : first.changes()) {
    EXPECT_EQ(c.old_value_json(), "") << c.field();
    if (c.field() == "display_name") {
      EXPECT_EQ(c.new_value_json(), "\"Acme\"");
    }
  }

  const v1::HistoryEntry& second = history.entries(1);
  EXPECT_EQ(second.version(), 2);
  EXPECT_EQ(second.actor(), "u2");
  EXPECT_EQ(second.event_type(), "crm.contact.v1.AccountUpdated");
  ASSERT_THAT(Fields(second), ElementsAre("industry"));
  EXPECT_EQ(second.changes(0).old_value_json(), "");
  EXPECT_EQ(second.changes(0).new_value_json(), "\"mining\"");

  const v1::HistoryEntry& third = history.entries(2);
  EXPECT_EQ(third.version(), 3);
  EXPECT_EQ(third.actor(), "u3");
  EXPECT_EQ(third.event_type(), "crm.contact.v1.AccountDeleted");
  EXPECT_THAT(Fields(third), ::testing::IsSupersetOf({"state", "delete_time"}));
  for (const v1::FieldChange& c : third.changes()) {
    if (c.field() == "state") {
      EXPECT_EQ(c.old_value_json(), "\"RECORD_STATE_ACTIVE\"");
      EXPECT_EQ(c.new_value_json(), "\"RECORD_STATE_DELETED\"");
    }
  }
  EXPECT_THAT(history.page().next_page_token(), IsEmpty());
}

TEST_F(HistoryApiTest, AccountHistoryPagesByVersion) {
  const v1::Account created = MustCreateAccount(Company("Acme"));
  for (int i = 0; i < 4; ++i) {
    MustSetIndustry(created.name(), fmt::format("industry {}", i));
  }
  EXPECT_THAT(AllVersions(created.name(), 2), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(AllVersions(created.name(), 1), ElementsAre(1, 2, 3, 4, 5));
  // A token of a contact's history is not one of this account's.
  v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::ListHistoryResponse first;
  ASSERT_TRUE(History(created.name(), &first, 1).ok());
  ASSERT_FALSE(first.page().next_page_token().empty());
  v1::ListHistoryResponse response;
  EXPECT_EQ(History(ada.name(), &response, 1, first.page().next_page_token())
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(HistoryApiTest, AccountHistoryOfAnotherTenantOrUnknownIsNotFound) {
  const v1::Account created = MustCreateAccount(Company("Acme"));
  v1::ListHistoryResponse response;
  EXPECT_EQ(History(created.name(), &response, 0, "", "globex").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(response.entries(), IsEmpty());
  EXPECT_EQ(History("accounts/00000000-0000-4000-8000-000000000000", &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(History("accounts/", &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(HistoryApiTest, GetAccountAsOfVersionReturnsTheAccountAsItWas) {
  const v1::Account created = MustCreateAccount(Company("Acme"));
  MustSetIndustry(created.name(), "mining");

  v1::Account then;
  grpc::Status status = GetAccountAsOf(created.name(), 1, nullptr, &then);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(then.display_name(), "Acme");
  EXPECT_EQ(then.industry(), "");
  EXPECT_EQ(then.etag(), "1");
  EXPECT_EQ(then.name(), created.name());
  ASSERT_TRUE(GetAccountAsOf(created.name(), 2, nullptr, &then).ok());
  EXPECT_EQ(then.industry(), "mining");
  EXPECT_EQ(then.etag(), "2");

  // The version beyond the stream: INVALID_ARGUMENT naming the field.
  status = GetAccountAsOf(created.name(), 3, nullptr, &then);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("as_of_version"));
  EXPECT_EQ(GetAccountAsOf(created.name(), -1, nullptr, &then).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      GetAccountAsOf(created.name(), 1, nullptr, &then, "globex").error_code(),
      grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetAccountAsOf("accounts/00000000-0000-4000-8000-000000000000", 1,
                           nullptr, &then)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(HistoryApiTest, GetAccountAsOfTimeReturnsTheAccountAsItWasThen) {
  const v1::Account created = MustCreateAccount(Company("Acme"));
  const v1::Account updated = MustSetIndustry(created.name(), "mining");
  ASSERT_NE(FromTimestamp(created.update_time()),
            FromTimestamp(updated.update_time()));

  v1::Account then;
  google::protobuf::Timestamp at = created.update_time();
  ASSERT_TRUE(GetAccountAsOf(created.name(), 0, &at, &then).ok());
  EXPECT_EQ(then.industry(), "");
  at = updated.update_time();
  ASSERT_TRUE(GetAccountAsOf(created.name(), 0, &at, &then).ok());
  EXPECT_EQ(then.industry(), "mining");

  // Before the first event: NOT_FOUND.
  at = ToTimestamp(FromTimestamp(created.create_time()) - absl::Seconds(1));
  EXPECT_EQ(GetAccountAsOf(created.name(), 0, &at, &then).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Both set: refused.
  at = updated.update_time();
  EXPECT_EQ(GetAccountAsOf(created.name(), 1, &at, &then).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      GetAccountAsOf(created.name(), 0, &at, &then, "globex").error_code(),
      grpc::StatusCode::NOT_FOUND);
}

// ---- Activities
// --------------------------------------------------------------

TEST_F(HistoryApiTest, ActivityHistoryShowsWhoWhenAndWhatChanged) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Activity task = MustLogTask(ada.name(), "Send the offer");
  MustSetSubject(task.name(), "Send the signed offer", "u2");
  MustComplete(task.name(), "u3");

  v1::ListHistoryResponse history;
  const grpc::Status status = History(task.name(), &history);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(history.entries_size(), 3);
  const v1::HistoryEntry& first = history.entries(0);
  EXPECT_EQ(first.version(), 1);
  EXPECT_EQ(first.actor(), "u1");
  EXPECT_EQ(first.event_type(), "crm.contact.v1.ActivityLogged");
  EXPECT_EQ(first.occur_time().seconds(), task.create_time().seconds());
  EXPECT_THAT(Fields(first),
              ::testing::IsSupersetOf({"kind", "contact", "subject"}));

  const v1::HistoryEntry& second = history.entries(1);
  EXPECT_EQ(second.version(), 2);
  EXPECT_EQ(second.actor(), "u2");
  EXPECT_EQ(second.event_type(), "crm.contact.v1.ActivityUpdated");
  ASSERT_THAT(Fields(second), ElementsAre("subject"));
  EXPECT_EQ(second.changes(0).old_value_json(), "\"Send the offer\"");
  EXPECT_EQ(second.changes(0).new_value_json(), "\"Send the signed offer\"");

  const v1::HistoryEntry& third = history.entries(2);
  EXPECT_EQ(third.version(), 3);
  EXPECT_EQ(third.actor(), "u3");
  EXPECT_EQ(third.event_type(), "crm.contact.v1.ActivityCompleted");
  EXPECT_THAT(Fields(third),
              ::testing::IsSupersetOf({"done", "complete_time"}));
  EXPECT_THAT(history.page().next_page_token(), IsEmpty());

  EXPECT_THAT(AllVersions(task.name(), 2), ElementsAre(1, 2, 3));
  EXPECT_THAT(AllVersions(task.name(), 1), ElementsAre(1, 2, 3));
}

TEST_F(HistoryApiTest, ActivityHistoryOfAnotherTenantOrUnknownIsNotFound) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Activity task = MustLogTask(ada.name(), "Send the offer");
  v1::ListHistoryResponse response;
  EXPECT_EQ(History(task.name(), &response, 0, "", "globex").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(response.entries(), IsEmpty());
  EXPECT_EQ(
      History("activities/00000000-0000-4000-8000-000000000000", &response)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
}

TEST_F(HistoryApiTest, ActivityHistoryOfAnErasedSubjectIsRedactedNotAnError) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Activity task = MustLogTask(ada.name(), "Call Ada at home");
  MustSetSubject(task.name(), "Call Ada at work", "u2");
  MustComplete(task.name(), "u3");
  ASSERT_OK(keys_->Delete(KeyIdFor("acme", IdOf(ada))));

  v1::ListHistoryResponse history;
  const grpc::Status status = History(task.name(), &history);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(history.entries_size(), 3);
  for (const v1::HistoryEntry& entry : history.entries()) {
    for (const v1::FieldChange& c : entry.changes()) {
      EXPECT_EQ(c.old_value_json().find("Ada"), std::string::npos) << c.field();
      EXPECT_EQ(c.new_value_json().find("Ada"), std::string::npos) << c.field();
      EXPECT_NE(c.field(), "subject");
    }
  }
  // Who and when stay; the content change shows as redacted personal data.
  EXPECT_EQ(history.entries(1).actor(), "u2");
  EXPECT_THAT(Fields(history.entries(1)), ElementsAre("personal_data"));
  EXPECT_THAT(Fields(history.entries(0)), ::testing::Contains("personal_data"));
  EXPECT_THAT(Fields(history.entries(2)),
              ::testing::Not(::testing::Contains("personal_data")));
}

}  // namespace
}  // namespace crm::contact::api
