// ContactService over gRPC in process: activities (activity_service.cc).
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crm/contact/api/grpc_status.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/projections/activity_projections.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "records_test_support.h"

namespace crm::contact::api {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class ActivityApiTest : public RecordsApiFixture {
 protected:
  // A task (or `kind`) about `contact` and/or `account`, starting `minutes`
  // after a fixed time (so the list order is known).
  static v1::Activity Task(const std::string& contact,
                           const std::string& account,
                           const std::string& subject, int minutes = 0,
                           v1::ActivityKind kind = v1::ACTIVITY_KIND_TASK) {
    v1::Activity activity;
    activity.set_kind(kind);
    activity.set_contact(contact);
    activity.set_account(account);
    activity.set_subject(subject);
    activity.set_body("private notes about " + subject);
    *activity.mutable_start_time() = ToTimestamp(
        absl::FromUnixSeconds(1'700'000'000) + absl::Minutes(minutes));
    return activity;
  }

  grpc::Status Log(const v1::Activity& activity,
                   v1::CreateActivityResponse* response,
                   const std::string& tenant = "acme",
                   const std::string& request_id = "") {
    v1::CreateActivityRequest request;
    *request.mutable_activity() = activity;
    request.mutable_context()->set_request_id(request_id);
    return stub_->CreateActivity(Context(tenant).get(), request, response);
  }

  v1::Activity MustLog(const v1::Activity& activity) {
    v1::CreateActivityResponse response;
    const grpc::Status status = Log(activity, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.activity();
  }

  grpc::Status GetActivity(const std::string& name, v1::Activity* activity,
                           const std::string& tenant = "acme") {
    v1::GetActivityRequest request;
    request.set_name(name);
    return stub_->GetActivity(Context(tenant).get(), request, activity);
  }

  // The subjects of every page, at most 100 pages.
  std::vector<std::string> ListAll(v1::ListActivitiesRequest request,
                                   int page_size) {
    request.mutable_page()->set_page_size(page_size);
    std::vector<std::string> subjects;
    for (int page = 0; page < 100; ++page) {
      v1::ListActivitiesResponse response;
      const grpc::Status status =
          stub_->ListActivities(Context().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      for (const v1::Activity& a : response.activities()) {
        subjects.push_back(a.subject());
      }
      if (response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    return subjects;
  }

  std::vector<std::string> ListOf(const std::string& parent, int page_size = 2,
                                  uint64_t min_position = 0) {
    v1::ListActivitiesRequest request;
    request.set_parent(parent);
    request.set_min_position(min_position);
    return ListAll(request, page_size);
  }
};

TEST_F(ActivityApiTest, CreateThenGetOpensTheContent) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  v1::Activity task = Task(ada.name(), acme.name(), "Call back");
  *task.mutable_due_time() = ToTimestamp(absl::FromUnixSeconds(1'800'000'000));
  task.add_participants()->set_address("bob@example.com");
  v1::CreateActivityResponse created;
  ASSERT_TRUE(Log(task, &created).ok());
  EXPECT_EQ(created.activity().subject(), "Call back");
  EXPECT_EQ(created.activity().contact(), ada.name());
  EXPECT_EQ(created.activity().account(), acme.name());
  EXPECT_EQ(created.activity().owner(), "u1");
  EXPECT_FALSE(created.activity().done());
  EXPECT_EQ(created.result().etag(), "1");

  v1::Activity got;
  ASSERT_TRUE(GetActivity(created.activity().name(), &got).ok());
  EXPECT_EQ(got.body(), "private notes about Call back");
  ASSERT_THAT(got.participants(), SizeIs(1));
  EXPECT_EQ(got.participants(0).address(), "bob@example.com");
  EXPECT_EQ(got.due_time().seconds(), 1'800'000'000);
}

TEST_F(ActivityApiTest, ContentIsSealedInTheEventsAndTheProjection) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  MustLog(Task(ada.name(), "", "Secret subject"));
  ASSERT_OK_AND_ASSIGN(auto view,
                       engine_->View(projections::kActivitiesProjection));
  ASSERT_OK_AND_ASSIGN(auto entries, view->Scan("acme/", "", 100));
  ASSERT_THAT(entries, ::testing::Not(IsEmpty()));
  for (const auto& [key, value] : entries) {
    EXPECT_EQ(value.find("Secret subject"), std::string::npos) << key;
  }
  ASSERT_OK_AND_ASSIGN(auto events, store_->ReadAll(1, 100));
  for (const auto& envelope : events.events) {
    EXPECT_EQ(envelope.payload().find("Secret subject"), std::string::npos);
  }
}

TEST_F(ActivityApiTest, ErasedKeyReadsAsErasedContentNotAnError) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Activity logged = MustLog(Task(ada.name(), "", "Call back"));
  // What erasure does to the key (the privacy area's EraseContact).
  ASSERT_OK(keys_->Delete(KeyIdFor("acme", IdIn(ada.name()))));
  v1::Activity got;
  const grpc::Status status = GetActivity(logged.name(), &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.name(), logged.name());
  EXPECT_TRUE(got.subject().empty());
  EXPECT_TRUE(got.body().empty());
  EXPECT_THAT(ListOf(ada.name()), ElementsAre(""));
}

TEST_F(ActivityApiTest, CreateErrors) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const uint64_t last = store_->LastPosition();
  v1::CreateActivityResponse response;

  v1::Activity no_kind = Task(ada.name(), "", "x");
  no_kind.set_kind(v1::ACTIVITY_KIND_UNSPECIFIED);
  const grpc::Status kind = Log(no_kind, &response);
  EXPECT_EQ(kind.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(kind),
              ElementsAre(Field(&FieldViolation::field, "activity.kind")));

  const grpc::Status no_subject = Log(Task(ada.name(), "", ""), &response);
  EXPECT_THAT(BadRequestViolations(no_subject),
              ElementsAre(Field(&FieldViolation::field, "activity.subject")));

  const grpc::Status bad_contact = Log(Task("people/1", "", "x"), &response);
  EXPECT_THAT(BadRequestViolations(bad_contact),
              ElementsAre(Field(&FieldViolation::field, "activity.contact")));

  const grpc::Status unknown =
      Log(Task("contacts/6f1c0b1e-0000-4000-8000-000000000001", "", "x"),
          &response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(unknown.error_message(),
              ::testing::HasSubstr("6f1c0b1e-0000-4000-8000-000000000001"));
  const grpc::Status unknown_account =
      Log(Task("", "accounts/6f1c0b1e-0000-4000-8000-000000000002", "x"),
          &response);
  EXPECT_EQ(unknown_account.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Another tenant's contact is not there for this caller.
  EXPECT_EQ(Log(Task(ada.name(), "", "x"), &response, "globex").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(store_->LastPosition(), last);

  v1::CreateActivityRequest taken;
  *taken.mutable_activity() = Task(ada.name(), "", "x");
  taken.set_activity_id("6f1c0b1e-0000-4000-8000-0000000000c1");
  ASSERT_TRUE(stub_->CreateActivity(Context().get(), taken, &response).ok());
  EXPECT_EQ(
      stub_->CreateActivity(Context().get(), taken, &response).error_code(),
      grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(ActivityApiTest, GetUnknownMalformedAndOtherTenant) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Activity logged = MustLog(Task(ada.name(), "", "x"));
  v1::Activity got;
  EXPECT_EQ(GetActivity(logged.name(), &got, "globex").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetActivity("activities/6f1c0b1e-0000-4000-8000-000000000001", &got)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  const grpc::Status bad = GetActivity("tasks/1", &got);
  EXPECT_THAT(BadRequestViolations(bad),
              ElementsAre(Field(&FieldViolation::field, "name")));
}

TEST_F(ActivityApiTest, UpdateWithMaskEtagAndReferenceChecks) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Activity logged = MustLog(Task(ada.name(), "", "Call back"));
  v1::UpdateActivityRequest request;
  request.mutable_activity()->set_name(logged.name());
  request.mutable_activity()->set_subject("Call back soon");
  request.mutable_activity()->set_body("ignored, not in the mask");
  request.mutable_update_mask()->add_paths("subject");
  request.set_etag("1");
  v1::UpdateActivityResponse updated;
  ASSERT_TRUE(stub_->UpdateActivity(Context().get(), request, &updated).ok());
  EXPECT_EQ(updated.activity().subject(), "Call back soon");
  EXPECT_EQ(updated.activity().body(), "private notes about Call back");
  EXPECT_EQ(updated.result().etag(), "2");

  EXPECT_EQ(
      stub_->UpdateActivity(Context().get(), request, &updated).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(stub_->UpdateActivity(Context("globex").get(), request, &updated)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.clear_etag();
  request.clear_update_mask();
  request.mutable_update_mask()->add_paths("kind");
  const grpc::Status kind =
      stub_->UpdateActivity(Context().get(), request, &updated);
  EXPECT_EQ(kind.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // Moving it to an account that does not exist.
  request.clear_update_mask();
  request.mutable_update_mask()->add_paths("account");
  request.mutable_activity()->set_account(
      "accounts/6f1c0b1e-0000-4000-8000-000000000002");
  EXPECT_EQ(
      stub_->UpdateActivity(Context().get(), request, &updated).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
  // Moving it to an account that does: listed there now too.
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  request.mutable_activity()->set_account(acme.name());
  ASSERT_TRUE(stub_->UpdateActivity(Context().get(), request, &updated).ok());
  EXPECT_THAT(ListOf(acme.name()), ElementsAre("Call back soon"));
}

TEST_F(ActivityApiTest, CompleteReopenAndDelete) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Activity task = MustLog(Task(ada.name(), "", "Send offer"));
  const v1::Activity note =
      MustLog(Task(ada.name(), "", "Met at fair", 1, v1::ACTIVITY_KIND_NOTE));

  v1::CompleteActivityRequest complete;
  complete.set_name(task.name());
  v1::CompleteActivityResponse completed;
  ASSERT_TRUE(
      stub_->CompleteActivity(Context().get(), complete, &completed).ok());
  EXPECT_TRUE(completed.activity().done());
  EXPECT_TRUE(completed.activity().has_complete_time());
  EXPECT_EQ(stub_->CompleteActivity(Context().get(), complete, &completed)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // Done already.
  complete.set_name(note.name());
  EXPECT_EQ(stub_->CompleteActivity(Context().get(), complete, &completed)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // Not a task.

  v1::ReopenActivityRequest reopen;
  reopen.set_name(task.name());
  reopen.set_etag("1");  // Stale: completing made it 2.
  v1::ReopenActivityResponse reopened;
  EXPECT_EQ(
      stub_->ReopenActivity(Context().get(), reopen, &reopened).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
  reopen.set_etag("2");
  ASSERT_TRUE(stub_->ReopenActivity(Context().get(), reopen, &reopened).ok());
  EXPECT_FALSE(reopened.activity().done());
  EXPECT_EQ(stub_->ReopenActivity(Context("globex").get(), reopen, &reopened)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::DeleteActivityRequest del;
  del.set_name(task.name());
  v1::DeleteActivityResponse deleted;
  ASSERT_TRUE(stub_->DeleteActivity(Context().get(), del, &deleted).ok());
  EXPECT_EQ(deleted.result().etag(), "4");
  EXPECT_EQ(stub_->DeleteActivity(Context().get(), del, &deleted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::Activity got;
  ASSERT_TRUE(GetActivity(task.name(), &got).ok());
  EXPECT_TRUE(got.deleted());

  v1::ListActivitiesRequest list;
  list.set_parent(ada.name());
  EXPECT_THAT(ListAll(list, 5), ElementsAre("Met at fair"));
  list.set_show_deleted(true);
  EXPECT_THAT(ListAll(list, 5), ElementsAre("Met at fair", "Send offer"));
  del.set_name("activities/nope");
  const grpc::Status bad =
      stub_->DeleteActivity(Context().get(), del, &deleted);
  EXPECT_THAT(BadRequestViolations(bad),
              ElementsAre(Field(&FieldViolation::field, "name")));
}

TEST_F(ActivityApiTest, ListIsNewestFirstWithFilters) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  MustLog(Task(ada.name(), "", "t1", 1));
  v1::Activity due = Task(ada.name(), acme.name(), "t2", 2);
  *due.mutable_due_time() = ToTimestamp(absl::FromUnixSeconds(1'750'000'000));
  MustLog(due);
  const v1::Activity done = MustLog(Task(ada.name(), "", "t3", 3));
  MustLog(Task(ada.name(), acme.name(), "call", 4, v1::ACTIVITY_KIND_CALL));
  v1::CompleteActivityRequest complete;
  complete.set_name(done.name());
  v1::CompleteActivityResponse completed;
  ASSERT_TRUE(
      stub_->CompleteActivity(Context().get(), complete, &completed).ok());

  v1::ListActivitiesRequest list;
  list.set_parent(ada.name());
  EXPECT_THAT(ListAll(list, 3), ElementsAre("call", "t3", "t2", "t1"));
  list.add_kinds(v1::ACTIVITY_KIND_CALL);
  EXPECT_THAT(ListAll(list, 3), ElementsAre("call"));
  list.clear_kinds();
  list.set_open_tasks_only(true);
  EXPECT_THAT(ListAll(list, 1), ElementsAre("t2", "t1"));
  list.set_open_tasks_only(false);
  *list.mutable_due_before() =
      ToTimestamp(absl::FromUnixSeconds(1'760'000'000));
  EXPECT_THAT(ListAll(list, 1), ElementsAre("t2"));
  list.clear_due_before();
  list.set_parent(acme.name());
  EXPECT_THAT(ListAll(list, 1), ElementsAre("call", "t2"));

  // Errors: bad parent, unknown parent, another tenant, bad kind,
  // include_related on a contact, a token of other filters.
  v1::ListActivitiesResponse page;
  list.set_parent("activities/x");
  EXPECT_THAT(
      BadRequestViolations(stub_->ListActivities(Context().get(), list, &page)),
      ElementsAre(Field(&FieldViolation::field, "parent")));
  list.set_parent("contacts/6f1c0b1e-0000-4000-8000-000000000001");
  EXPECT_EQ(stub_->ListActivities(Context().get(), list, &page).error_code(),
            grpc::StatusCode::NOT_FOUND);
  list.set_parent(ada.name());
  EXPECT_EQ(
      stub_->ListActivities(Context("globex").get(), list, &page).error_code(),
      grpc::StatusCode::NOT_FOUND);
  list.add_kinds(v1::ACTIVITY_KIND_UNSPECIFIED);
  EXPECT_THAT(
      BadRequestViolations(stub_->ListActivities(Context().get(), list, &page)),
      ElementsAre(Field(&FieldViolation::field, "kinds[0]")));
  list.clear_kinds();
  list.set_include_related(true);  // For an account's list only.
  EXPECT_THAT(
      BadRequestViolations(stub_->ListActivities(Context().get(), list, &page)),
      ElementsAre(Field(&FieldViolation::field, "include_related")));
  list.set_include_related(false);
  list.mutable_page()->set_page_size(1);
  ASSERT_TRUE(stub_->ListActivities(Context().get(), list, &page).ok());
  ASSERT_FALSE(page.page().next_page_token().empty());
  list.mutable_page()->set_page_token(page.page().next_page_token());
  list.set_open_tasks_only(true);
  EXPECT_THAT(
      BadRequestViolations(stub_->ListActivities(Context().get(), list, &page)),
      ElementsAre(Field(&FieldViolation::field, "page.page_token")));
}

TEST_F(ActivityApiTest, ListsFollowMergesOfContactsAndAccounts) {
  const v1::Contact survivor = MustCreate(Person("Ada", "Lovelace"));
  const v1::Contact merged = MustCreate(Person("Ada", "King"));
  const v1::Contact third = MustCreate(Person("A.", "King"));
  MustLog(Task(survivor.name(), "", "s1", 1));
  MustLog(Task(merged.name(), "", "m1", 2));
  MustLog(Task(survivor.name(), "", "s2", 3));
  MustLog(Task(third.name(), "", "t1", 4));
  MustLog(Task(merged.name(), "", "m2", 5));

  Merge(merged.name(), third.name());
  const uint64_t position = Merge(survivor.name(), merged.name());
  // Transitively: third was merged into merged, merged into survivor.
  EXPECT_THAT(ListOf(survivor.name(), 2, position),
              ElementsAre("m2", "t1", "s2", "m1", "s1"));
  EXPECT_THAT(ListOf(merged.name(), 2, position),
              ElementsAre("m2", "t1", "m1"));
  const uint64_t undone = Merge(survivor.name(), merged.name(), /*undo=*/true);
  EXPECT_THAT(ListOf(survivor.name(), 2, undone), ElementsAre("s2", "s1"));

  const v1::Account acme = MustCreateAccount(Company("Acme"));
  const v1::Account acme2 = MustCreateAccount(Company("ACME Inc"));
  MustLog(Task("", acme.name(), "a1", 1));
  MustLog(Task("", acme2.name(), "a2", 2));
  const uint64_t accounts = Merge(acme.name(), acme2.name());
  EXPECT_THAT(ListOf(acme.name(), 1, accounts), ElementsAre("a2", "a1"));
}

TEST_F(ActivityApiTest, IncludeRelatedListsThePeoplesActivitiesOnce) {
  const v1::Account acme = MustCreateAccount(Company("Acme"));
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Contact grace = MustCreate(Person("Grace", "Hopper"));
  const v1::Contact bob = MustCreate(Person("Bob", "Other"));
  for (const v1::Contact& c : {ada, grace}) {
    v1::CreateRelationshipRequest relate;
    relate.set_parent(c.name());
    relate.mutable_relationship()->set_account(acme.name());
    v1::CreateRelationshipResponse related;
    ASSERT_TRUE(
        stub_->CreateRelationship(Context().get(), relate, &related).ok());
  }
  MustLog(Task("", acme.name(), "account only", 1));
  MustLog(Task(ada.name(), "", "ada only", 2));
  MustLog(Task(ada.name(), acme.name(), "ada at acme", 3));
  MustLog(Task(grace.name(), "", "grace only", 4));
  MustLog(Task(bob.name(), "", "bob only", 5));

  v1::ListActivitiesRequest list;
  list.set_parent(acme.name());
  EXPECT_THAT(ListAll(list, 1), ElementsAre("ada at acme", "account only"));
  list.set_include_related(true);
  EXPECT_THAT(ListAll(list, 1), ElementsAre("grace only", "ada at acme",
                                            "ada only", "account only"));
}

TEST_F(ActivityApiTest, RetryWithSameRequestIdReturnsFirstResult) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::CreateActivityResponse first;
  ASSERT_TRUE(Log(Task(ada.name(), "", "x"), &first, "acme", "act-1").ok());
  const uint64_t last = store_->LastPosition();
  v1::CreateActivityResponse again;
  ASSERT_TRUE(Log(Task(ada.name(), "", "x"), &again, "acme", "act-1").ok());
  EXPECT_EQ(again.activity().name(), first.activity().name());
  EXPECT_EQ(again.result().global_position(), first.result().global_position());
  EXPECT_EQ(store_->LastPosition(), last);
  EXPECT_THAT(ListOf(ada.name()), SizeIs(1));
}

TEST_F(ActivityApiTest, ConcurrentUpdatesOneWinsOthersAborted) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Activity logged = MustLog(Task(ada.name(), "", "x"));
  constexpr int kWriters = 6;
  std::vector<grpc::Status> results(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      v1::UpdateActivityRequest request;
      request.mutable_activity()->set_name(logged.name());
      request.mutable_activity()->set_subject(fmt::format("subject {}", i));
      request.mutable_update_mask()->add_paths("subject");
      v1::UpdateActivityResponse response;
      results[i] = stub_->UpdateActivity(Context().get(), request, &response);
    });
  }
  for (std::thread& t : threads) t.join();
  int ok = 0;
  for (const grpc::Status& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
    }
  }
  EXPECT_GE(ok, 1);
  v1::Activity got;
  ASSERT_TRUE(GetActivity(logged.name(), &got).ok());
  EXPECT_EQ(got.etag(), std::to_string(1 + ok));
}

TEST_F(ActivityApiTest, PaginationIsStableUnderConcurrentWrites) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  std::set<std::string> before;
  for (int i = 0; i < 10; ++i) {
    before.insert(
        MustLog(Task(ada.name(), "", fmt::format("b{}", i), i)).name());
  }
  v1::ListActivitiesRequest request;
  request.set_parent(ada.name());
  request.mutable_page()->set_page_size(3);
  std::vector<std::string> seen;
  for (int page = 0; page < 100; ++page) {
    v1::ListActivitiesResponse response;
    ASSERT_TRUE(
        stub_->ListActivities(Context().get(), request, &response).ok());
    for (const v1::Activity& a : response.activities()) {
      seen.push_back(a.name());
    }
    // Writes between pages: newer and older activities than the cursor.
    MustLog(Task(ada.name(), "", "newer", 100 + page));
    MustLog(Task(ada.name(), "", "older", -100 - page));
    if (response.page().next_page_token().empty()) break;
    request.mutable_page()->set_page_token(response.page().next_page_token());
  }
  const std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "an activity was listed twice";
  for (const std::string& name : before) {
    EXPECT_TRUE(unique.count(name)) << name << " was skipped";
  }
}

TEST_F(ActivityApiTest, RestartKeepsActivitiesAndContent) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  const v1::Activity logged = MustLog(Task(ada.name(), "", "Call back"));
  Stop();
  Start(1);
  v1::GetActivityRequest request;
  request.set_name(logged.name());
  request.set_min_position(store_->LastPosition());
  v1::Activity got;
  const grpc::Status status =
      stub_->GetActivity(Context().get(), request, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.subject(), "Call back");
  EXPECT_THAT(ListOf(ada.name(), 2, store_->LastPosition()),
              ElementsAre("Call back"));
}

}  // namespace
}  // namespace crm::contact::api
