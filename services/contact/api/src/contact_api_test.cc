// ContactService over gRPC in process, on 127.0.0.1:0 through ServiceHost,
// with a real event store in a temporary directory.
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "api_test_fixture.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/api/grpc_status.h"
#include "crm/contact/api/store_key_provider.h"
#include "crm/contact/crypto/aes_gcm_sealer.h"
#include "crm/contact/projections/contact_projections.h"
#include "crm/server/handler_pool.h"
#include "crm/server/metrics.h"
#include "crm/server/service_host.h"
#include "crm/testing/status_matchers.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class ContactApiTest : public ContactApiFixture {};

TEST_F(ContactApiTest, CreateThenGetReturnsTheContact) {
  v1::CreateContactResponse created;
  ASSERT_TRUE(
      Create(Person("Ada", "Lovelace", "ada@example.com"), &created).ok());
  EXPECT_EQ(created.contact().given_name(), "Ada");
  EXPECT_EQ(created.contact().state(), v1::RECORD_STATE_ACTIVE);
  EXPECT_EQ(created.contact().owner(), "u1");
  EXPECT_EQ(created.result().etag(), "1");
  EXPECT_GT(created.result().global_position(), 0u);

  v1::Contact got;
  ASSERT_TRUE(Get(created.contact().name(), &got).ok());
  EXPECT_EQ(got.family_name(), "Lovelace");
  ASSERT_THAT(got.emails(), SizeIs(1));
  EXPECT_EQ(got.emails(0).normalized(), "ada@example.com");
  EXPECT_EQ(got.etag(), "1");
}

TEST_F(ContactApiTest, InvalidContactNamesTheFieldInBadRequest) {
  v1::CreateContactResponse created;
  v1::Contact nameless;
  nameless.add_emails()->set_address("not an email");
  const grpc::Status status = Create(nameless, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailsCode(status), grpc::StatusCode::INVALID_ARGUMENT);
  std::set<std::string> fields;
  for (const FieldViolation& v : BadRequestViolations(status)) {
    fields.insert(v.field);
    EXPECT_FALSE(v.description.empty());
  }
  EXPECT_TRUE(fields.count("contact.emails[0].address"))
      << status.error_message();
  EXPECT_TRUE(FieldViolations(FromGrpcStatus(status)).size() == fields.size());
}

TEST_F(ContactApiTest, MissingTenantIsUnauthenticatedAndBadTenantInvalid) {
  v1::GetContactRequest request;
  request.set_name("contacts/6f1c0b1e-0000-4000-8000-000000000001");
  v1::Contact contact;
  EXPECT_EQ(stub_->GetContact(Context("", "u1").get(), request, &contact)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub_->GetContact(Context("acme", "").get(), request, &contact)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status bad =
      stub_->GetContact(Context("Bad Tenant!", "u1").get(), request, &contact);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(bad),
              ElementsAre(Field(&FieldViolation::field, "tenant")));
}

TEST_F(ContactApiTest, GetUnknownOrMalformedName) {
  v1::Contact contact;
  EXPECT_EQ(Get("contacts/6f1c0b1e-0000-4000-8000-000000000001", &contact)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  const grpc::Status bad = Get("people/1", &contact);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(bad),
              ElementsAre(Field(&FieldViolation::field, "name")));
}

TEST_F(ContactApiTest, OtherTenantCannotSeeOrChangeTheContact) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::Contact got;
  EXPECT_EQ(Get(ada.name(), &got, "globex").error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::DeleteContactRequest del;
  del.set_name(ada.name());
  v1::DeleteContactResponse deleted;
  EXPECT_EQ(
      stub_->DeleteContact(Context("globex").get(), del, &deleted).error_code(),
      grpc::StatusCode::NOT_FOUND);
  v1::ListContactsRequest list;
  v1::ListContactsResponse listed;
  ASSERT_TRUE(stub_->ListContacts(Context("globex").get(), list, &listed).ok());
  EXPECT_THAT(listed.contacts(), IsEmpty());
}

TEST_F(ContactApiTest, UpdateWithMaskAndEtag) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::UpdateContactRequest request;
  request.mutable_contact()->set_name(ada.name());
  request.mutable_contact()->set_job_title("Analyst");
  request.mutable_contact()->set_given_name("ignored, not in the mask");
  request.mutable_update_mask()->add_paths("job_title");
  request.set_etag(ada.etag());
  v1::UpdateContactResponse updated;
  ASSERT_TRUE(stub_->UpdateContact(Context().get(), request, &updated).ok());
  EXPECT_EQ(updated.contact().job_title(), "Analyst");
  EXPECT_EQ(updated.contact().given_name(), "Ada");
  EXPECT_EQ(updated.result().etag(), "2");

  // The etag read before the update is stale now.
  v1::UpdateContactResponse stale;
  const grpc::Status status =
      stub_->UpdateContact(Context().get(), request, &stale);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  request.clear_update_mask();
  request.clear_etag();
  const grpc::Status no_mask =
      stub_->UpdateContact(Context().get(), request, &stale);
  EXPECT_EQ(no_mask.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(no_mask),
              ElementsAre(Field(&FieldViolation::field, "update_mask")));
}

TEST_F(ContactApiTest, ConcurrentWritesOneWinsOthersAborted) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  constexpr int kWriters = 6;
  std::vector<grpc::Status> results(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      v1::UpdateContactRequest request;
      request.mutable_contact()->set_name(ada.name());
      request.mutable_contact()->set_job_title(fmt::format("title {}", i));
      request.mutable_update_mask()->add_paths("job_title");
      v1::UpdateContactResponse response;
      results[i] = stub_->UpdateContact(Context().get(), request, &response);
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
  v1::Contact got;
  ASSERT_TRUE(Get(ada.name(), &got).ok());
  EXPECT_EQ(got.etag(), std::to_string(1 + ok));
}

TEST_F(ContactApiTest, RetryWithSameRequestIdReturnsFirstResult) {
  v1::CreateContactResponse first;
  ASSERT_TRUE(Create(Person("Ada", "Lovelace"), &first, "acme", "req-1").ok());
  const uint64_t last = store_->LastPosition();
  v1::CreateContactResponse again;
  ASSERT_TRUE(Create(Person("Ada", "Lovelace"), &again, "acme", "req-1").ok());
  EXPECT_EQ(again.contact().name(), first.contact().name());
  EXPECT_EQ(again.result().global_position(), first.result().global_position());
  EXPECT_EQ(store_->LastPosition(), last);
  // The same request id in another tenant is another request.
  v1::CreateContactResponse other;
  ASSERT_TRUE(
      Create(Person("Ada", "Lovelace"), &other, "globex", "req-1").ok());
  EXPECT_NE(other.contact().name(), first.contact().name());
}

TEST_F(ContactApiTest, DeleteHidesFromListUndeleteRestores) {
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  MustCreate(Person("Grace", "Hopper"));
  v1::DeleteContactRequest del;
  del.set_name(ada.name());
  v1::DeleteContactResponse deleted;
  ASSERT_TRUE(stub_->DeleteContact(Context().get(), del, &deleted).ok());
  EXPECT_EQ(deleted.contact().state(), v1::RECORD_STATE_DELETED);
  EXPECT_EQ(stub_->DeleteContact(Context().get(), del, &deleted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::ListContactsRequest list;
  EXPECT_THAT(ListAll(list, 10), SizeIs(1));
  list.set_show_deleted(true);
  EXPECT_THAT(ListAll(list, 10), SizeIs(2));

  v1::UndeleteContactRequest undel;
  undel.set_name(ada.name());
  v1::UndeleteContactResponse undeleted;
  ASSERT_TRUE(stub_->UndeleteContact(Context().get(), undel, &undeleted).ok());
  EXPECT_EQ(undeleted.contact().state(), v1::RECORD_STATE_ACTIVE);
}

TEST_F(ContactApiTest, ListFiltersByNamePrefixEmailAndOwner) {
  MustCreate(Person("Ada", "Lovelace", "ada@example.com"));
  MustCreate(Person("Alan", "Turing", "alan@example.com"));
  v1::Contact grace = Person("Grace", "Hopper");
  grace.set_owner("u2");
  MustCreate(grace);

  v1::ListContactsRequest list;
  EXPECT_THAT(ListAll(list, 2), SizeIs(3));
  list.set_name_prefix("a");
  EXPECT_THAT(ListAll(list, 1), SizeIs(2));  // Ada, Alan (given names).
  list.set_name_prefix("TUR");
  EXPECT_THAT(ListAll(list, 1), SizeIs(1));
  list.clear_name_prefix();
  list.set_email("ADA@example.com");
  EXPECT_THAT(ListAll(list, 5), SizeIs(1));
  list.clear_email();
  list.set_owner("u2");
  EXPECT_THAT(ListAll(list, 5), SizeIs(1));

  // A token is bound to its filters.
  v1::ListContactsRequest first;
  first.mutable_page()->set_page_size(1);
  v1::ListContactsResponse page;
  ASSERT_TRUE(stub_->ListContacts(Context().get(), first, &page).ok());
  ASSERT_FALSE(page.page().next_page_token().empty());
  first.mutable_page()->set_page_token(page.page().next_page_token());
  first.set_owner("u1");
  const grpc::Status other = stub_->ListContacts(Context().get(), first, &page);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(other),
              ElementsAre(Field(&FieldViolation::field, "page.page_token")));
}

TEST_F(ContactApiTest, PaginationIsStableUnderConcurrentWrites) {
  std::set<std::string> before;
  for (int i = 0; i < 12; ++i) {
    before.insert(MustCreate(Person(fmt::format("P{:02}", i), "Smith")).name());
  }
  v1::ListContactsRequest request;
  request.mutable_page()->set_page_size(3);
  std::vector<std::string> seen;
  for (int page = 0; page < 100; ++page) {
    v1::ListContactsResponse response;
    ASSERT_TRUE(stub_->ListContacts(Context().get(), request, &response).ok());
    for (const v1::Contact& c : response.contacts()) seen.push_back(c.name());
    // Writes between pages: new contacts before and after the cursor.
    MustCreate(Person(fmt::format("A{}", page), "Aaron"));
    MustCreate(Person(fmt::format("Z{}", page), "Zed"));
    if (response.page().next_page_token().empty()) break;
    request.mutable_page()->set_page_token(response.page().next_page_token());
  }
  const std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a contact was listed twice";
  for (const std::string& name : before) {
    EXPECT_TRUE(unique.count(name)) << name << " was skipped";
  }
}

TEST_F(ContactApiTest, RestartKeepsContactsAndPersonalData) {
  const v1::Contact ada =
      MustCreate(Person("Ada", "Lovelace", "ada@example.com"));
  Stop();
  Start(1);
  v1::GetContactRequest request;
  request.set_name(ada.name());
  request.set_min_position(store_->LastPosition());
  v1::Contact got;
  const grpc::Status status = stub_->GetContact(Context().get(), request, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.given_name(), "Ada");
  EXPECT_EQ(got.emails(0).address(), "ada@example.com");
}

TEST_F(ContactApiTest, AFullHandlerPoolRefusesAtOnceAndRecovers) {
  Stop();
  service_options_.handler_threads = 1;  // Queue: 16 calls.
  service_options_.max_wait = absl::Seconds(30);
  Start(1);
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  // Reads that wait for a position the log has not reached, until their
  // deadline: one holds the only thread, sixteen fill the queue.
  constexpr int kBlockers =
      1 + static_cast<int>(server::HandlerPool::kQueuedPerThread);
  // Shared with the callbacks, so an early return of the test leaves
  // nothing they touch destroyed.
  struct Blockers {
    struct Call {
      grpc::ClientContext context;
      v1::GetContactRequest request;
      v1::Contact response;
    };
    std::vector<std::unique_ptr<Call>> calls;
    absl::Mutex mutex;
    std::vector<grpc::Status> finished ABSL_GUARDED_BY(mutex);
  };
  auto blockers = std::make_shared<Blockers>();
  for (int i = 0; i < kBlockers; ++i) {
    blockers->calls.push_back(std::make_unique<Blockers::Call>());
    Blockers::Call& call = *blockers->calls.back();
    call.context.set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    call.context.AddMetadata(kTenantKey, "acme");
    call.context.AddMetadata(kActorKey, "u1");
    call.request.set_name(ada.name());
    call.request.set_min_position(store_->LastPosition() + 1);
  }
  const auto start_blocker = [&](Blockers::Call& call) {
    stub_->async()->GetContact(
        &call.context, &call.request, &call.response,
        [blockers](grpc::Status status) {
          absl::MutexLock lock(&blockers->mutex);
          blockers->finished.push_back(std::move(status));
        });
  };
  // Waits (at most 8 s) until the pool shows `busy` running and `queued`
  // waiting.
  server::HandlerPool::Stats stats;
  const auto wait_for_pool = [&](size_t busy, size_t queued) {
    for (int i = 0; i < 800; ++i) {
      stats = service_->handler_pool().stats();
      if (stats.busy == busy && stats.queued == queued) return;
      absl::SleepFor(absl::Milliseconds(10));
    }
  };
  // The create's body may still be returning after its reply went out:
  // wait until the pool is idle, so that the busy thread seen next is the
  // first blocker's.
  wait_for_pool(0, 0);
  ASSERT_EQ(stats.busy, 0u);
  // The first alone, until the thread runs it: the others must find the
  // thread taken, not race it to the queue.
  start_blocker(*blockers->calls.front());
  wait_for_pool(1, 0);
  ASSERT_EQ(stats.busy, 1u);
  for (size_t i = 1; i < blockers->calls.size(); ++i) {
    start_blocker(*blockers->calls[i]);
  }
  wait_for_pool(1, kBlockers - 1);
  ASSERT_EQ(stats.busy, 1u);
  ASSERT_EQ(stats.queued, static_cast<size_t>(kBlockers - 1));
  ASSERT_EQ(stats.refused, 0u);

  // One more is refused at once, telling the client to back off.
  v1::Contact got;
  const absl::Time start = absl::Now();
  grpc::Status refused = Get(ada.name(), &got);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("retry"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(service_->handler_pool().stats().refused, 1u);

  // The blockers end at their deadline; the pool drains and serves again.
  {
    absl::MutexLock lock(&blockers->mutex);
    const auto all_finished =
        [&]() ABSL_SHARED_LOCKS_REQUIRED(blockers->mutex) {
          return blockers->finished.size() == blockers->calls.size();
        };
    ASSERT_TRUE(blockers->mutex.AwaitWithTimeout(absl::Condition(&all_finished),
                                                 absl::Seconds(60)));
    for (const grpc::Status& status : blockers->finished) {
      EXPECT_THAT(status.error_code(),
                  ::testing::AnyOf(grpc::StatusCode::DEADLINE_EXCEEDED,
                                   grpc::StatusCode::UNAVAILABLE))
          << status.error_message();
    }
  }
  // The server ends them a little after their clients (its copy of the
  // deadline is later by the transit); then the pool is idle again.
  for (int i = 0; i < 3000; ++i) {
    stats = service_->handler_pool().stats();
    if (stats.busy == 0 && stats.queued == 0) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(stats.busy, 0u);
  EXPECT_EQ(stats.queued, 0u);
  const grpc::Status served = Get(ada.name(), &got);
  ASSERT_TRUE(served.ok()) << served.error_code() << " "
                           << served.error_message();
  EXPECT_EQ(got.given_name(), "Ada");
  EXPECT_EQ(MustCreate(Person("Grace", "Hopper")).given_name(), "Grace");
}

TEST_F(ContactApiTest, ACallWhoseDeadlinePassedInTheQueueChangesNothing) {
  Stop();
  service_options_.handler_threads = 1;
  service_options_.max_wait = absl::Seconds(30);
  Start(1);
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  // Waits (at most 8 s) until `done` holds for the pool's stats.
  server::HandlerPool::Stats stats;
  const auto wait_for_pool = [&](auto done) {
    for (int i = 0; i < 800; ++i) {
      stats = service_->handler_pool().stats();
      if (done(stats)) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  };
  ASSERT_TRUE(wait_for_pool([](const server::HandlerPool::Stats& s) {
    return s.busy == 0 && s.queued == 0;
  }));
  const uint64_t run_before = stats.run;

  // The only thread waits, for 2 s, for a position the log never reaches.
  // Shared with the callback, so an early return leaves it nothing freed.
  struct Blocker {
    grpc::ClientContext context;
    v1::GetContactRequest request;
    v1::Contact response;
    absl::Notification done;
  };
  auto blocker = std::make_shared<Blocker>();
  blocker->context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  blocker->context.AddMetadata(kTenantKey, "acme");
  blocker->context.AddMetadata(kActorKey, "u1");
  blocker->request.set_name(ada.name());
  blocker->request.set_min_position(store_->LastPosition() + 1);
  stub_->async()->GetContact(
      &blocker->context, &blocker->request, &blocker->response,
      [blocker](grpc::Status) { blocker->done.Notify(); });
  ASSERT_TRUE(wait_for_pool(
      [](const server::HandlerPool::Stats& s) { return s.busy == 1; }));

  // A create queued behind it gives up first.
  const uint64_t before = store_->LastPosition();
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Milliseconds(300)));
  context.AddMetadata(kTenantKey, "acme");
  context.AddMetadata(kActorKey, "u1");
  v1::CreateContactRequest request;
  *request.mutable_contact() = Person("Grace", "Hopper");
  v1::CreateContactResponse response;
  const grpc::Status late = stub_->CreateContact(&context, request, &response);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << late.error_message();

  // When its turn comes the create is skipped: nothing is written.
  ASSERT_TRUE(blocker->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(wait_for_pool([&](const server::HandlerPool::Stats& s) {
    return s.busy == 0 && s.queued == 0 && s.run >= run_before + 2;
  }));
  EXPECT_EQ(store_->LastPosition(), before);
  EXPECT_THAT(ListAll(v1::ListContactsRequest(), 10),
              ::testing::ElementsAre(ada.name()));
}

TEST_F(ContactApiTest, RebuiltProjectionEqualsTheLiveOne) {
  std::vector<v1::Contact> people;
  for (int i = 0; i < 5; ++i) {
    v1::Contact person = Person(fmt::format("P{}", i), "Smith",
                                fmt::format("p{}@example.com", i));
    person.add_phones()->set_number(fmt::format("+44 20 7946 010{}", i));
    person.set_owner(i % 2 == 0 ? "u1" : "u2");
    people.push_back(MustCreate(person));
  }
  // Changes that move contact_list's index entries, a deletion, an erasure.
  v1::UpdateContactRequest update;
  *update.mutable_contact() = Person("Q0", "Jones", "q0@example.com");
  update.mutable_contact()->set_name(people[0].name());
  update.mutable_contact()->set_owner("u3");
  for (const char* path : {"given_name", "family_name", "emails", "owner"})
    update.mutable_update_mask()->add_paths(path);
  v1::UpdateContactResponse updated;
  ASSERT_TRUE(stub_->UpdateContact(Context().get(), update, &updated).ok());
  v1::DeleteContactRequest del;
  del.set_name(people[1].name());
  v1::DeleteContactResponse deleted;
  ASSERT_TRUE(stub_->DeleteContact(Context().get(), del, &deleted).ok());
  v1::EraseContactRequest erase;
  erase.set_name(people[2].name());
  erase.set_reason("gdpr_art17_request");
  v1::EraseContactResponse erased;
  const grpc::Status erase_status =
      stub_->EraseContact(Context().get(), erase, &erased);
  ASSERT_TRUE(erase_status.ok()) << erase_status.error_message();

  std::vector<std::vector<std::pair<std::string, std::string>>> live;
  for (const char* name : {projections::kContactsByIdProjection,
                           projections::kContactListProjection}) {
    ASSERT_OK_AND_ASSIGN(auto live_view, engine_->View(name));
    ASSERT_OK_AND_ASSIGN(auto entries, live_view->Scan("", "", 10'000));
    live.push_back(std::move(entries));
  }
  Stop();
  // contacts_by_id version 2, contact_list one above its own: both
  // rebuilt from the log.
  const uint32_t list_version =
      projections::ContactListProjection::kVersion + 1;
  Start(2, list_version);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  bool rebuilt = false;
  while (absl::Now() < deadline && !rebuilt) {
    absl::StatusOr<std::shared_ptr<const projection::ProjectionView>> by_id =
        engine_->View(projections::kContactsByIdProjection);
    absl::StatusOr<std::shared_ptr<const projection::ProjectionView>> list =
        engine_->View(projections::kContactListProjection);
    if (by_id.ok() && (*by_id)->version() == 2 && list.ok() &&
        (*list)->version() == list_version) {
      rebuilt = true;
      ASSERT_OK_AND_ASSIGN(auto by_id_entries, (*by_id)->Scan("", "", 10'000));
      EXPECT_EQ(by_id_entries, live[0]);
      ASSERT_OK_AND_ASSIGN(auto list_entries, (*list)->Scan("", "", 10'000));
      EXPECT_EQ(list_entries, live[1]);
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));  // Polling a condition.
  }
  EXPECT_TRUE(rebuilt) << "the rebuild did not finish in time";
}

}  // namespace
}  // namespace crm::contact::api
