// ContactService over gRPC in process: Bulk import (import_service.cc).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "api_test_fixture.h"
#include "crm/contact/api/grpc_status.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

using ::testing::Contains;
using ::testing::Eq;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Property;
using ::testing::SizeIs;

// What a whole import call returned.
struct ImportRun {
  grpc::Status status;
  std::vector<v1::ImportContactsResponse> responses;
  v1::ImportProgress final_progress;
  // Results by row key (a row has one result per run).
  std::map<std::string, v1::ImportRowResult> results;
  bool done = false;
};

class ImportApiTest : public ContactApiFixture {
 protected:
  static v1::ImportHeader Header(
      const std::string& import_id,
      v1::ImportDedupeRule rule = v1::IMPORT_DEDUPE_RULE_UNSPECIFIED) {
    v1::ImportHeader header;
    header.set_import_id(import_id);
    header.set_dedupe_rule(rule);
    return header;
  }

  static v1::ImportRow Row(const std::string& key, const std::string& given,
                           const std::string& family,
                           const std::string& email = "") {
    v1::ImportRow row;
    row.set_row_key(key);
    *row.mutable_contact() = Person(given, family, email);
    return row;
  }

  // The rows of a small CSV export (key,given,family,email): three good
  // rows, one with no name and a bad email, one sharing an email.
  static std::vector<v1::ImportRow> CsvRows() {
    return {Row("1", "Ada", "Lovelace", "ada@example.com"),
            Row("2", "Alan", "Turing", "alan@example.com"),
            Row("3", "", "", "not-an-email"),
            Row("4", "Grace", "Hopper", "grace@example.com"),
            Row("5", "Ada", "King", "ADA@example.com")};
  }

  static void Collect(const v1::ImportContactsResponse& response,
                      ImportRun& run) {
    run.responses.push_back(response);
    run.final_progress = response.progress();
    run.done = run.done || response.done();
    for (const v1::ImportRowResult& result : response.row_results()) {
      run.results[result.row_key()] = result;
    }
  }

  // Sends the header and the rows, half-closes, reads every response.
  // `stub`: another server's (default: the fixture's).
  ImportRun Import(const v1::ImportHeader& header,
                   const std::vector<v1::ImportRow>& rows,
                   const std::string& tenant = "acme",
                   v1::ContactService::Stub* stub = nullptr) {
    auto context = Context(tenant);
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    auto stream =
        (stub != nullptr ? stub : stub_.get())->ImportContacts(context.get());
    v1::ImportContactsRequest request;
    *request.mutable_header() = header;
    bool open = stream->Write(request);
    for (size_t i = 0; open && i < rows.size(); ++i) {
      *request.mutable_row() = rows[i];
      open = stream->Write(request);
    }
    stream->WritesDone();
    ImportRun run;
    v1::ImportContactsResponse response;
    while (stream->Read(&response)) Collect(response, run);
    run.status = stream->Finish();
    return run;
  }

  // Every contact of the tenant once the read models show every write.
  std::vector<std::string> AllNames(const std::string& tenant = "acme") {
    v1::ListContactsRequest request;
    std::vector<std::string> names;
    request.mutable_page()->set_page_size(1000);
    request.set_min_position(store_->LastPosition());
    for (int page = 0; page < 100; ++page) {
      v1::ListContactsResponse response;
      grpc::Status status;
      // A read waits at most 5 s for the read models: a loaded machine
      // may need a few waits to apply a large import.
      for (int attempt = 0; attempt < 12; ++attempt) {
        status = stub_->ListContacts(Context(tenant).get(), request, &response);
        if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      }
      EXPECT_TRUE(status.ok()) << status.error_message();
      for (const v1::Contact& c : response.contacts()) {
        names.push_back(c.name());
      }
      if (response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    return names;
  }

  // Two existing contacts (one at an account) and three rows: an exact
  // email duplicate, the same name at the same company (the account found
  // by its domain), and a distinct person.
  struct LikelyDuplicateSetup {
    v1::Contact ada;
    v1::Contact babbage;
    std::vector<v1::ImportRow> rows;
  };
  LikelyDuplicateSetup MakeLikelyDuplicateSetup() {
    LikelyDuplicateSetup setup;
    setup.ada = MustCreate(Person("Ada", "Lovelace", "ada@example.com"));
    v1::CreateAccountRequest create;
    create.mutable_account()->set_display_name("Analytical Engines");
    create.mutable_account()->set_website("https://engines.example");
    v1::CreateAccountResponse account;
    const grpc::Status created =
        stub_->CreateAccount(Context().get(), create, &account);
    EXPECT_TRUE(created.ok()) << created.error_message();
    v1::Contact babbage =
        Person("Charles", "Babbage", "charles@engines.example");
    babbage.set_account(account.account().name());
    setup.babbage = MustCreate(babbage);
    setup.rows = {Row("1", "Augusta Ada", "King", "ADA@example.com"),
                  Row("2", "Charles", "Babbage", "cb@difference.example"),
                  Row("3", "Grace", "Hopper", "grace@example.com")};
    setup.rows[1].mutable_account()->set_display_name("Analytical Engines");
    setup.rows[1].mutable_account()->set_domain("engines.example");
    return setup;
  }

  static std::vector<v1::ImportRow> ManyRows(int count) {
    std::vector<v1::ImportRow> rows;
    for (int i = 0; i < count; ++i) {
      rows.push_back(Row(fmt::format("r{:05}", i), fmt::format("Given{}", i),
                         "Many", fmt::format("p{}@many.example", i)));
    }
    return rows;
  }
};

TEST_F(ImportApiTest, ImportsGoodRowsOnceAndReportsMalformedOnesWithFields) {
  const ImportRun run = Import(Header("crm-2024"), CsvRows());
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_TRUE(run.done);
  EXPECT_EQ(run.final_progress.rows_received(), 5);
  EXPECT_EQ(run.final_progress.rows_created(), 4);
  EXPECT_EQ(run.final_progress.rows_failed(), 1);
  EXPECT_EQ(run.final_progress.last_committed_row_key(), "5");
  ASSERT_EQ(run.results.size(), 5u);
  const v1::ImportRowResult& bad = run.results.at("3");
  EXPECT_EQ(bad.outcome(), v1::IMPORT_ROW_OUTCOME_FAILED);
  EXPECT_EQ(bad.error_code(), static_cast<int>(grpc::INVALID_ARGUMENT));
  EXPECT_THAT(bad.field_violations(),
              Contains(Property(&v1::FieldViolation::field,
                                Eq("contact.emails[0].address"))));
  EXPECT_THAT(
      bad.field_violations(),
      Contains(Property(&v1::FieldViolation::field, Eq("contact.given_name"))));

  v1::Contact ada;
  ASSERT_TRUE(Get(run.results.at("1").contact(), &ada).ok());
  EXPECT_EQ(ada.given_name(), "Ada");
  EXPECT_EQ(ada.source(), "import:crm-2024");
  EXPECT_THAT(AllNames(), SizeIs(4));
}

TEST_F(ImportApiTest, RerunImportsNothingNew) {
  const ImportRun first = Import(Header("crm-2024"), CsvRows());
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  const uint64_t position = store_->LastPosition();

  const ImportRun again = Import(Header("crm-2024"), CsvRows());
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.final_progress.rows_created(), 0);
  EXPECT_EQ(again.final_progress.rows_skipped(), 4);
  EXPECT_EQ(again.final_progress.rows_failed(), 1);
  for (const char* key : {"1", "2", "4", "5"}) {
    EXPECT_EQ(again.results.at(key).outcome(),
              v1::IMPORT_ROW_OUTCOME_SKIPPED_ALREADY_IMPORTED);
    EXPECT_EQ(again.results.at(key).contact(), first.results.at(key).contact());
  }
  EXPECT_EQ(store_->LastPosition(), position);
  EXPECT_THAT(AllNames(), SizeIs(4));
}

TEST_F(ImportApiTest, AnotherTenantWithTheSameImportIdGetsItsOwnContacts) {
  ASSERT_TRUE(Import(Header("crm-2024"), CsvRows()).status.ok());
  const ImportRun other = Import(Header("crm-2024"), CsvRows(), "globex");
  ASSERT_TRUE(other.status.ok()) << other.status.error_message();
  EXPECT_EQ(other.final_progress.rows_created(), 4);
  EXPECT_THAT(AllNames("globex"), SizeIs(4));
  EXPECT_THAT(AllNames("acme"), SizeIs(4));
}

TEST_F(ImportApiTest, SkipByEmailSkipsRowsMatchingAContactOrAnEarlierRow) {
  const v1::Contact existing =
      MustCreate(Person("Alan", "Turing", "Alan@Example.com"));
  const ImportRun run =
      Import(Header("dedupe", v1::IMPORT_DEDUPE_RULE_SKIP_BY_EMAIL), CsvRows());
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_EQ(run.results.at("2").outcome(),
            v1::IMPORT_ROW_OUTCOME_SKIPPED_DUPLICATE);
  EXPECT_EQ(run.results.at("2").contact(), existing.name());
  // Row 5 shares row 1's email (in another case): a duplicate of row 1.
  EXPECT_EQ(run.results.at("5").outcome(),
            v1::IMPORT_ROW_OUTCOME_SKIPPED_DUPLICATE);
  EXPECT_EQ(run.results.at("5").contact(), run.results.at("1").contact());
  EXPECT_EQ(run.final_progress.rows_created(), 2);  // Rows 1 and 4.
  EXPECT_EQ(run.final_progress.rows_skipped(), 2);
  EXPECT_THAT(AllNames(), SizeIs(3));
}

TEST_F(ImportApiTest, UpdateByEmailUpdatesTheMatchingContactOnce) {
  const v1::Contact existing =
      MustCreate(Person("Alan", "Turing", "alan@example.com"));
  std::vector<v1::ImportRow> rows = {
      Row("1", "Alan M.", "Turing", "ALAN@example.com")};
  rows[0].mutable_contact()->set_job_title("Mathematician");
  const auto header = Header("updates", v1::IMPORT_DEDUPE_RULE_UPDATE_BY_EMAIL);
  const ImportRun run = Import(header, rows);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_EQ(run.results.at("1").outcome(), v1::IMPORT_ROW_OUTCOME_UPDATED);
  EXPECT_EQ(run.results.at("1").contact(), existing.name());
  v1::GetContactRequest get;
  get.set_name(existing.name());
  get.set_min_position(store_->LastPosition());
  v1::Contact updated;
  ASSERT_TRUE(stub_->GetContact(Context().get(), get, &updated).ok());
  EXPECT_EQ(updated.given_name(), "Alan M.");
  EXPECT_EQ(updated.job_title(), "Mathematician");

  const uint64_t position = store_->LastPosition();
  const ImportRun again = Import(header, rows);
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.results.at("1").outcome(),
            v1::IMPORT_ROW_OUTCOME_SKIPPED_ALREADY_IMPORTED);
  EXPECT_EQ(store_->LastPosition(), position);
  EXPECT_THAT(AllNames(), SizeIs(1));
}

TEST_F(ImportApiTest, DryRunReportsOutcomesAndWritesNothing) {
  const uint64_t position = store_->LastPosition();
  v1::ImportHeader header = Header("dry");
  header.set_dry_run(true);
  std::vector<v1::ImportRow> rows = CsvRows();
  rows[0].mutable_account()->set_website("https://www.example.com/about");
  rows[0].mutable_account()->set_display_name("Example");
  const ImportRun run = Import(header, rows);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_EQ(run.final_progress.rows_created(), 4);
  EXPECT_EQ(run.final_progress.rows_failed(), 1);
  EXPECT_EQ(store_->LastPosition(), position);
  EXPECT_THAT(AllNames(), IsEmpty());
  // The real run afterwards creates them all.
  header.set_dry_run(false);
  EXPECT_EQ(Import(header, rows).final_progress.rows_created(), 4);
}

TEST_F(ImportApiTest, RowsNamingOneDomainShareOneAccount) {
  std::vector<v1::ImportRow> rows = CsvRows();
  rows[0].mutable_account()->set_website("https://www.example.com/about");
  rows[0].mutable_account()->set_display_name("Example");
  rows[1].mutable_account()->set_domain("EXAMPLE.com");
  rows[1].mutable_account()->set_display_name("Example Inc");
  rows[3].mutable_account()->set_website("not a site");
  const ImportRun run = Import(Header("accounts"), rows);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  v1::Contact ada;
  v1::Contact alan;
  ASSERT_TRUE(Get(run.results.at("1").contact(), &ada).ok());
  ASSERT_TRUE(Get(run.results.at("2").contact(), &alan).ok());
  EXPECT_FALSE(ada.account().empty());
  EXPECT_EQ(ada.account(), alan.account());
  const v1::ImportRowResult& bad = run.results.at("4");
  EXPECT_EQ(bad.outcome(), v1::IMPORT_ROW_OUTCOME_FAILED);
  EXPECT_THAT(
      bad.field_violations(),
      Contains(Property(&v1::FieldViolation::field, Eq("account.website"))));
}

TEST_F(ImportApiTest, RowNamingTheDomainOfAnExistingAccountJoinsIt) {
  v1::CreateAccountRequest create;
  create.mutable_account()->set_display_name("Analytical Engines");
  create.mutable_account()->set_website("https://www.engines.example/");
  v1::CreateAccountResponse account;
  const grpc::Status created =
      stub_->CreateAccount(Context().get(), create, &account);
  ASSERT_TRUE(created.ok()) << created.error_message();
  std::vector<v1::ImportRow> rows = CsvRows();
  rows[0].mutable_account()->set_domain("ENGINES.example");
  rows[0].mutable_account()->set_display_name("Engines Ltd");
  rows[1].mutable_account()->set_website("https://engines.example/people");
  const ImportRun run = Import(Header("join"), rows);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  v1::Contact ada;
  v1::Contact alan;
  ASSERT_TRUE(Get(run.results.at("1").contact(), &ada).ok());
  ASSERT_TRUE(Get(run.results.at("2").contact(), &alan).ok());
  EXPECT_EQ(ada.account(), account.account().name());
  EXPECT_EQ(alan.account(), account.account().name());
  // No second account of the domain was made.
  v1::ListAccountsRequest list;
  list.mutable_page()->set_page_size(10);
  list.set_min_position(store_->LastPosition());
  v1::ListAccountsResponse accounts;
  ASSERT_TRUE(stub_->ListAccounts(Context().get(), list, &accounts).ok());
  EXPECT_THAT(accounts.accounts(), SizeIs(1));
}

TEST_F(ImportApiTest, ResumedRunAfterACancelCompletesWithoutDoubles) {
  const std::vector<v1::ImportRow> rows = ManyRows(1200);
  int64_t committed = 0;
  {
    auto context = Context();
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    auto stream = stub_->ImportContacts(context.get());
    v1::ImportContactsRequest request;
    *request.mutable_header() = Header("big");
    ASSERT_TRUE(stream->Write(request));
    for (const v1::ImportRow& row : rows) {
      *request.mutable_row() = row;
      if (!stream->Write(request)) break;
    }
    // The first batch reports as soon as it is written: then cancel.
    v1::ImportContactsResponse response;
    ASSERT_TRUE(stream->Read(&response));
    committed = response.progress().rows_created();
    EXPECT_EQ(response.progress().last_committed_row_key(), "r00499");
    EXPECT_FALSE(response.done());
    context->TryCancel();
    while (stream->Read(&response)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  ASSERT_GE(committed, 500);
  ASSERT_LT(committed, 1200);

  const ImportRun resumed = Import(Header("big"), rows);
  ASSERT_TRUE(resumed.status.ok()) << resumed.status.error_message();
  EXPECT_TRUE(resumed.done);
  EXPECT_EQ(resumed.final_progress.rows_received(), 1200);
  EXPECT_EQ(resumed.final_progress.rows_skipped() +
                resumed.final_progress.rows_created(),
            1200);
  EXPECT_GE(resumed.final_progress.rows_skipped(), committed);
  EXPECT_EQ(resumed.final_progress.last_committed_row_key(), "r01199");
  EXPECT_THAT(resumed.results, SizeIs(1200));
  EXPECT_THAT(AllNames(), SizeIs(1200));
}

TEST_F(ImportApiTest, ProgressComesWhileRowsAreStillSent) {
  const ImportRun run = Import(Header("progress"), ManyRows(1100));
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  ASSERT_GE(run.responses.size(), 2u);
  EXPECT_FALSE(run.responses.front().done());
  EXPECT_EQ(run.responses.front().progress().last_committed_row_key(),
            "r00499");
  EXPECT_TRUE(run.responses.back().done());
  EXPECT_EQ(run.final_progress.rows_created(), 1100);
}

// Contexts for client calls started together (tenant "acme", each with
// `deadline`); the destructor waits (bounded) until every call has
// answered, so no callback outlives what it touches.
struct BlockingCalls {
  explicit BlockingCalls(int count, absl::Duration deadline = absl::Seconds(8))
      : replies(static_cast<size_t>(count)) {
    for (int i = 0; i < count; ++i) {
      auto context = std::make_unique<grpc::ClientContext>();
      context->AddMetadata(kTenantKey, "acme");
      context->AddMetadata(kActorKey, "u1");
      context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
      contexts.push_back(std::move(context));
    }
  }
  ~BlockingCalls() { AwaitAll(absl::Seconds(30)); }

  void Answered() {
    absl::MutexLock lock(&mutex);
    ++answered;
  }
  // Whether every call answered within `timeout`.
  bool AwaitAll(absl::Duration timeout) {
    absl::MutexLock lock(&mutex);
    return mutex.AwaitWithTimeout(
        absl::Condition(this, &BlockingCalls::AllAnswered), timeout);
  }
  bool AllAnswered() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    return answered == static_cast<int>(contexts.size());
  }

  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<v1::Contact> replies;
  absl::Mutex mutex;
  int answered ABSL_GUARDED_BY(mutex) = 0;
};

// A second contact service on the fixture's store with one handler thread
// (and its queue of kQueuedPerThread bodies), served on its own port.
struct OneThreadService {
  OneThreadService(eventstore::EventStore& store,
                   projection::ProjectionEngine& engine, AesGcmSealer& sealer,
                   server::MetricsEndpoint& metrics)
      : service(store, engine, sealer, [] {
          ContactServiceImpl::Options options;
          options.handler_threads = 1;
          options.max_wait = absl::Seconds(8);
          return options;
        }()) {
    server::ServerConfig config;
    config.service = "contact-busy";
    config.grpc_listen = server::HostPort{"127.0.0.1", 0};
    config.metrics_listen = metrics.address();
    config.shutdown_grace = absl::Seconds(5);
    server::ServiceHost::Options host_options;
    host_options.services = {&service};
    host_options.handle_signals = false;
    absl::StatusOr<std::unique_ptr<server::ServiceHost>> started =
        server::ServiceHost::Start(config, metrics, std::move(host_options));
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return;
    host = *std::move(started);
    stub = v1::ContactService::NewStub(grpc::CreateChannel(
        host->grpc_address().ToString(), grpc::InsecureChannelCredentials()));
  }

  // The pool's stats once they satisfy `done`, or after 5 s.
  template <typename Done>
  server::HandlerPool::Stats AwaitPool(Done done) const {
    const absl::Time by = absl::Now() + absl::Seconds(5);
    server::HandlerPool::Stats stats = service.handler_pool().stats();
    while (!done(stats) && absl::Now() < by) {
      absl::SleepFor(absl::Milliseconds(2));
      stats = service.handler_pool().stats();
    }
    return stats;
  }

  ContactServiceImpl service;
  std::unique_ptr<server::ServiceHost> host;
  std::unique_ptr<v1::ContactService::Stub> stub;
};

// The import's batches run on the service's handler pool: with its only
// thread and its whole queue taken by calls that wait for a read model, the
// import ends with RESOURCE_EXHAUSTED and writes nothing; once the pool is
// free, the same import goes through.
TEST_F(ImportApiTest, FullHandlerPoolEndsTheImportWithResourceExhausted) {
  OneThreadService busy(*store_, *engine_, *sealer_, *metrics_);
  ASSERT_NE(busy.host, nullptr);
  v1::ContactService::Stub* stub = busy.stub.get();

  // Reads of a position nobody has written, one for the thread and one
  // per queue slot: each holds its place until its deadline (8 s from now,
  // all of them).
  constexpr size_t kQueue = server::HandlerPool::kQueuedPerThread;
  constexpr int kBlockers = 1 + static_cast<int>(kQueue);
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::GetContactRequest get;
  get.set_name(ada.name());
  get.set_min_position(store_->LastPosition() + 1'000'000);
  BlockingCalls blockers(kBlockers);
  auto start_blocker = [&](int i) {
    stub->async()->GetContact(blockers.contexts[i].get(), &get,
                              &blockers.replies[i],
                              [&](grpc::Status) { blockers.Answered(); });
  };
  // The first takes the thread before the others queue (all at once could
  // overflow the queue while the thread has not taken the first yet).
  start_blocker(0);
  server::HandlerPool::Stats stats = busy.AwaitPool(
      [](const server::HandlerPool::Stats& s) { return s.busy == 1; });
  ASSERT_EQ(stats.busy, 1u);
  for (int i = 1; i < kBlockers; ++i) start_blocker(i);
  stats = busy.AwaitPool(
      [](const server::HandlerPool::Stats& s) { return s.queued == kQueue; });
  ASSERT_EQ(stats.busy, 1u);
  ASSERT_EQ(stats.queued, kQueue);

  const uint64_t position = store_->LastPosition();
  const std::vector<v1::ImportRow> rows = {
      Row("1", "Grace", "Hopper", "grace@example.com")};
  const ImportRun refused = Import(Header("busy"), rows, "acme", stub);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.status.error_message();
  EXPECT_FALSE(refused.status.error_message().empty());
  EXPECT_FALSE(refused.done);
  EXPECT_EQ(store_->LastPosition(), position);

  // Every blocker ends by its deadline, and the pool drains their bodies.
  ASSERT_TRUE(blockers.AwaitAll(absl::Seconds(30)));
  stats = busy.AwaitPool([](const server::HandlerPool::Stats& s) {
    return s.busy == 0 && s.queued == 0;
  });
  ASSERT_EQ(stats.queued, 0u);
  EXPECT_EQ(stats.refused, 1u);  // The import's body only.
  const ImportRun run = Import(Header("busy"), rows, "acme", stub);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_TRUE(run.done);
  EXPECT_EQ(run.final_progress.rows_created(), 1);
  busy.host.reset();
}

// A batch whose import is cancelled while the batch waits for the pool's
// thread is not written; the client resumes the import with the same id.
TEST_F(ImportApiTest, BatchCancelledWhileItWaitedForAThreadWritesNothing) {
  OneThreadService busy(*store_, *engine_, *sealer_, *metrics_);
  ASSERT_NE(busy.host, nullptr);
  // The only thread waits, for 3 s, for a position nobody has written.
  const v1::Contact ada = MustCreate(Person("Ada", "Lovelace"));
  v1::GetContactRequest get;
  get.set_name(ada.name());
  get.set_min_position(store_->LastPosition() + 1'000'000);
  BlockingCalls blocker(1, absl::Seconds(3));
  busy.stub->async()->GetContact(blocker.contexts[0].get(), &get,
                                 &blocker.replies[0],
                                 [&](grpc::Status) { blocker.Answered(); });
  ASSERT_EQ(busy.AwaitPool([](const server::HandlerPool::Stats& s) {
                  return s.busy == 1;
                })
                .busy,
            1u);

  // A full batch (500 rows): its body waits in the queue; the client
  // cancels meanwhile.
  const uint64_t position = store_->LastPosition();
  auto context = Context();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  auto stream = busy.stub->ImportContacts(context.get());
  v1::ImportContactsRequest request;
  *request.mutable_header() = Header("cancelled");
  ASSERT_TRUE(stream->Write(request));
  for (int i = 0; i < 500; ++i) {
    *request.mutable_row() =
        Row(fmt::format("r{:03}", i), fmt::format("P{}", i), "Smith");
    ASSERT_TRUE(stream->Write(request));
  }
  ASSERT_EQ(busy.AwaitPool([](const server::HandlerPool::Stats& s) {
                  return s.queued == 1;
                })
                .queued,
            1u);
  context->TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // Once the thread is free the batch's turn comes, and it is not run.
  ASSERT_TRUE(blocker.AwaitAll(absl::Seconds(30)));
  const server::HandlerPool::Stats stats =
      busy.AwaitPool([](const server::HandlerPool::Stats& s) {
        return s.busy == 0 && s.queued == 0;
      });
  EXPECT_EQ(stats.busy, 0u);
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(store_->LastPosition(), position);
  EXPECT_THAT(AllNames(), ::testing::ElementsAre(ada.name()));
  busy.host.reset();
}

TEST_F(ImportApiTest, HeaderWithoutImportIdIsRefusedNamingTheField) {
  const ImportRun run = Import(Header(""), CsvRows());
  EXPECT_EQ(run.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(run.status),
              Contains(Field(&FieldViolation::field, "header.import_id")));
  EXPECT_THAT(AllNames(), IsEmpty());
}

TEST_F(ImportApiTest, RowBeforeTheHeaderIsRefused) {
  auto context = Context();
  auto stream = stub_->ImportContacts(context.get());
  v1::ImportContactsRequest request;
  *request.mutable_row() = Row("1", "Ada", "Lovelace");
  stream->Write(request);
  stream->WritesDone();
  v1::ImportContactsResponse response;
  while (stream->Read(&response)) {
  }
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestViolations(status),
              Contains(Field(&FieldViolation::field, "header")));
}

TEST_F(ImportApiTest, CallerWithoutTenantIsUnauthenticated) {
  const ImportRun run = Import(Header("x"), CsvRows(), "");
  EXPECT_EQ(run.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ImportApiTest, RowsWithoutKeyFailAndTheImportGoesOn) {
  std::vector<v1::ImportRow> rows = CsvRows();
  rows[1].set_row_key("");
  const ImportRun run = Import(Header("keys"), rows);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_EQ(run.final_progress.rows_failed(), 2);
  ASSERT_TRUE(run.results.contains(""));
  EXPECT_THAT(run.results.at("").field_violations(),
              Contains(Property(&v1::FieldViolation::field, Eq("row_key"))));
  EXPECT_EQ(run.final_progress.rows_created(), 3);
}

TEST_F(ImportApiTest, LikelyDuplicatesAreSkippedNamingTheMatchAndTheReason) {
  const LikelyDuplicateSetup setup = MakeLikelyDuplicateSetup();
  const auto header =
      Header("likely", v1::IMPORT_DEDUPE_RULE_SKIP_LIKELY_DUPLICATES);
  const ImportRun run = Import(header, setup.rows);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  const v1::ImportRowResult& by_email = run.results.at("1");
  EXPECT_EQ(by_email.outcome(), v1::IMPORT_ROW_OUTCOME_SKIPPED_DUPLICATE);
  EXPECT_EQ(by_email.contact(), setup.ada.name());
  EXPECT_THAT(by_email.error_message(), HasSubstr("same email address"));
  EXPECT_THAT(by_email.error_message(), HasSubstr("score 0.95"));
  EXPECT_EQ(by_email.error_code(), 0);
  const v1::ImportRowResult& by_company = run.results.at("2");
  EXPECT_EQ(by_company.outcome(), v1::IMPORT_ROW_OUTCOME_SKIPPED_DUPLICATE);
  EXPECT_EQ(by_company.contact(), setup.babbage.name());
  EXPECT_THAT(by_company.error_message(),
              HasSubstr("names 1.00 similar, same account"));
  const v1::ImportRowResult& distinct = run.results.at("3");
  EXPECT_EQ(distinct.outcome(), v1::IMPORT_ROW_OUTCOME_CREATED);
  EXPECT_EQ(run.final_progress.rows_created(), 1);
  EXPECT_EQ(run.final_progress.rows_skipped(), 2);
  EXPECT_EQ(run.final_progress.rows_failed(), 0);
  EXPECT_THAT(AllNames(), SizeIs(3));

  const uint64_t position = store_->LastPosition();
  const ImportRun again = Import(header, setup.rows);
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.final_progress.rows_created(), 0);
  EXPECT_EQ(again.final_progress.rows_skipped(), 3);
  EXPECT_EQ(again.results.at("1").outcome(),
            v1::IMPORT_ROW_OUTCOME_SKIPPED_DUPLICATE);
  EXPECT_EQ(again.results.at("2").outcome(),
            v1::IMPORT_ROW_OUTCOME_SKIPPED_DUPLICATE);
  EXPECT_EQ(again.results.at("3").outcome(),
            v1::IMPORT_ROW_OUTCOME_SKIPPED_ALREADY_IMPORTED);
  EXPECT_EQ(store_->LastPosition(), position);
  EXPECT_THAT(AllNames(), SizeIs(3));
}

TEST_F(ImportApiTest, LikelyDuplicateThresholdComesFromTheHeader) {
  const LikelyDuplicateSetup setup = MakeLikelyDuplicateSetup();
  auto header = Header("strict", v1::IMPORT_DEDUPE_RULE_SKIP_LIKELY_DUPLICATES);
  // Same name at the same company scores 0.85: below 0.9, so created; the
  // exact email (0.95) is still skipped.
  header.set_min_duplicate_score(0.9);
  const ImportRun run = Import(header, setup.rows);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_EQ(run.results.at("1").outcome(),
            v1::IMPORT_ROW_OUTCOME_SKIPPED_DUPLICATE);
  EXPECT_THAT(run.results.at("1").error_message(), HasSubstr("at least 0.90"));
  EXPECT_EQ(run.results.at("2").outcome(), v1::IMPORT_ROW_OUTCOME_CREATED);
  EXPECT_EQ(run.results.at("3").outcome(), v1::IMPORT_ROW_OUTCOME_CREATED);
}

TEST_F(ImportApiTest, LikelyDuplicateOfAnEarlierRowOfTheBatchIsSkipped) {
  const ImportRun run =
      Import(Header("twice", v1::IMPORT_DEDUPE_RULE_SKIP_LIKELY_DUPLICATES),
             {Row("1", "Grace", "Hopper", "grace@example.com"),
              Row("2", "Grace B.", "Hopper", "GRACE@example.com"),
              Row("3", "Alan", "Turing", "alan@example.com")});
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_EQ(run.results.at("1").outcome(), v1::IMPORT_ROW_OUTCOME_CREATED);
  EXPECT_EQ(run.results.at("2").outcome(),
            v1::IMPORT_ROW_OUTCOME_SKIPPED_DUPLICATE);
  EXPECT_EQ(run.results.at("2").contact(), run.results.at("1").contact());
  EXPECT_EQ(run.results.at("3").outcome(), v1::IMPORT_ROW_OUTCOME_CREATED);
  EXPECT_THAT(AllNames(), SizeIs(2));
}

}  // namespace
}  // namespace crm::contact::api
