// crm-suite as a process, the way run.sh and a user start it: found through
// its ready file, health checked, called over gRPC, scraped, stopped with
// SIGTERM and restarted on the same data directory.
//
// The first session goes through a gRPC stub (create, get, list); the
// second runs the crmctl binary (tools/crmctl) as a child process, as a user
// would, and reads its --json output.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/v1/contact_service.grpc.pb.h"
#include "crm/suite/sample_data.h"
#include "crm/testing/status_matchers.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server_test_util.h"
#include "store_test_util.h"

namespace crm::suite {
namespace {

namespace v1 = contact::v1;
using ::crm::server::test_util::HttpGet;
using ::crm::server::test_util::SampleValue;
using ::crm::server::test_util::SpawnChild;
using ::crm::server::test_util::WaitFor;
using ::testing::Contains;
using ::testing::Optional;

std::string RequestsSeries(std::string_view method) {
  return fmt::format(
      "crm_grpc_server_requests_total{{code=\"OK\",method=\"crm.contact.v1."
      "ContactService/{}\"}}",
      method);
}

class SuiteProcessTest : public ::testing::Test {
 protected:
  SuiteProcessTest()
      : dir_("suite_process"),
        data_dir_((dir_.path() / "data").string()),
        ready_path_((dir_.path() / "ready.json").string()) {}

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Starts crm-suite on data_dir_ (loopback, free ports, a ready file) with
  // the extra environment `env` (NAME=value) and waits for its ready file.
  void Start(const std::vector<std::string>& env = {}) {
    log_path_ = (dir_.path() / fmt::format("suite{}.log", ++starts_)).string();
    std::vector<std::string> arguments = {
        CRM_SUITE_BINARY, "--data-dir",       data_dir_,     "--grpc-listen",
        "127.0.0.1:0",    "--metrics-listen", "127.0.0.1:0", "--ready-file",
        ready_path_,      "--shutdown-grace", "10s"};
    absl::StatusOr<pid_t> pid =
        SpawnChild(std::move(arguments), env, log_path_);
    ASSERT_TRUE(pid.ok()) << pid.status();
    pid_ = *pid;

    // The first start opens the store, builds the projections and writes
    // the sample data under the sanitizers: generous, still bounded.
    ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(ready_path_); },
                        absl::Seconds(120)))
        << "no ready file; the log is in " << log_path_;
    std::ifstream in(ready_path_);
    ready_ = nlohmann::json::parse(in);
    const std::string metrics_address = ready_["metrics_address"];
    metrics_port_ =
        std::stoi(metrics_address.substr(metrics_address.rfind(':') + 1));
    channel_ = grpc::CreateChannel(ready_["grpc_address"],
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::ContactService::NewStub(channel_);
  }

  // SIGTERM; the exit code, or nullopt when it runs on past the grace
  // period (plus a margin) or dies of a signal.
  std::optional<int> Terminate() {
    stub_.reset();
    channel_.reset();
    if (kill(pid_, SIGTERM) != 0) return std::nullopt;
    int status = 0;
    const bool exited =
        WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
                absl::Seconds(15));
    if (!exited) return std::nullopt;
    pid_ = -1;
    if (!WIFEXITED(status)) return std::nullopt;
    return WEXITSTATUS(status);
  }

  static std::unique_ptr<grpc::ClientContext> Context(
      const std::string& tenant) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    context->AddMetadata(contact::api::kTenantKey, tenant);
    context->AddMetadata(contact::api::kActorKey, "suite-test");
    return context;
  }

  grpc::health::v1::HealthCheckResponse::ServingStatus Health(
      const std::string& service) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status =
        grpc::health::v1::Health::NewStub(channel_)->Check(&context, request,
                                                           &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  // The names of every contact of `tenant`, page by page (at most 20
  // pages); counts the calls in list_calls_.
  std::vector<std::string> ListAll(const std::string& tenant) {
    std::vector<std::string> names;
    v1::ListContactsRequest request;
    request.mutable_page()->set_page_size(25);
    for (int page = 0; page < 20; ++page) {
      v1::ListContactsResponse response;
      ++list_calls_;
      const grpc::Status status =
          stub_->ListContacts(Context(tenant).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      for (const v1::Contact& contact : response.contacts()) {
        names.push_back(contact.name());
      }
      if (!status.ok() || response.page().next_page_token().empty()) break;
      request.mutable_page()->set_page_token(response.page().next_page_token());
    }
    return names;
  }

  std::string Metrics() {
    absl::StatusOr<std::string> body = HttpGet(metrics_port_);
    EXPECT_TRUE(body.ok()) << body.status();
    return body.ok() ? *body : std::string();
  }

  // Lines of the current log whose message starts with `prefix`.
  int LogLinesStartingWith(std::string_view prefix) const {
    std::ifstream in(log_path_);
    int count = 0;
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
      if (object.is_object() &&
          object.value("message", "").rfind(prefix, 0) == 0) {
        ++count;
      }
    }
    return count;
  }

  eventstore::test_util::ScratchDir dir_;
  const std::string data_dir_;
  const std::string ready_path_;
  std::string log_path_;
  int starts_ = 0;
  pid_t pid_ = -1;
  nlohmann::json ready_;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ContactService::Stub> stub_;
  int list_calls_ = 0;
};

TEST_F(SuiteProcessTest, ServesSampleDataAndKeepsEverythingAcrossRestart) {
  ASSERT_NO_FATAL_FAILURE(Start());
  EXPECT_EQ(ready_["service"], "suite");
  EXPECT_EQ(ready_["pid"], pid_);
  EXPECT_EQ(Health(""), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(Health("crm.contact.v1.ContactService"),
            grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(LogLinesStartingWith("crm-suite is serving: gRPC on "), 1);

  // The sample data is there, in its tenant only.
  const std::vector<std::string> sample = ListAll(kSampleTenant);
  EXPECT_EQ(sample.size(), static_cast<size_t>(kSampleContacts));
  EXPECT_THAT(sample, Contains(SampleContactName(0)));
  EXPECT_TRUE(std::filesystem::exists(data_dir_ + "/sample-data-written"));

  // A session: create, get, list.
  v1::CreateContactRequest create;
  create.mutable_context()->set_request_id("suite-test-create-1");
  create.mutable_contact()->set_given_name("Grace");
  create.mutable_contact()->set_family_name("Testcase");
  create.mutable_contact()->add_emails()->set_address("grace@example.com");
  v1::CreateContactResponse created;
  grpc::Status status =
      stub_->CreateContact(Context("acme").get(), create, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::GetContactRequest get;
  get.set_name(created.contact().name());
  v1::Contact got;
  status = stub_->GetContact(Context("acme").get(), get, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.given_name(), "Grace");
  EXPECT_EQ(got.emails(0).address(), "grace@example.com");
  EXPECT_EQ(ListAll("acme"), std::vector<std::string>{got.name()});

  // The calls are counted (the sample data's are not: they go through a
  // private in-process server), and the components report.
  ASSERT_TRUE(WaitFor([&] {
    const std::string text = Metrics();
    return SampleValue(text, RequestsSeries("CreateContact")) == 1.0 &&
           SampleValue(text, RequestsSeries("GetContact")) == 1.0 &&
           SampleValue(text, RequestsSeries("ListContacts")) == list_calls_;
  })) << Metrics();
  const std::string text = Metrics();
  // Labelled by service: each service of the suite has its own store,
  // projections and handler pool.
  EXPECT_THAT(
      SampleValue(text, "crm_eventstore_appends_total{service=\"contact\"}"),
      Optional(::testing::Ge(kSampleContacts + 1)));
  EXPECT_TRUE(
      SampleValue(text, "crm_eventstore_last_position{service=\"contact\"}")
          .has_value());
  EXPECT_THAT(SampleValue(text,
                          "crm_projection_state{service=\"contact\","
                          "projection=\"contacts_by_id\",state=\"live\"}"),
              Optional(1.0));
  EXPECT_TRUE(SampleValue(text,
                          "crm_projection_lag_events{service=\"contact\","
                          "projection=\"contact_list\"}")
                  .has_value());
  EXPECT_THAT(SampleValue(text, "crm_handler_calls_total{service=\"contact\"}"),
              Optional(::testing::Ge(3.0)));
  EXPECT_TRUE(
      SampleValue(text, "crm_relay_lag_events{topic=\"crm.contact.events.v1\"}")
          .has_value());

  EXPECT_THAT(Terminate(), Optional(0));
  EXPECT_FALSE(std::filesystem::exists(ready_path_));

  // As after a crash midway through the sample data: without its marker,
  // the restart writes it all again, and its request ids make that append
  // nothing.
  std::filesystem::remove(data_dir_ + "/sample-data-written");
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::vector<std::string> again = ListAll(kSampleTenant);
  EXPECT_EQ(std::set<std::string>(again.begin(), again.end()),
            std::set<std::string>(sample.begin(), sample.end()));
  EXPECT_EQ(again.size(), sample.size());
  EXPECT_TRUE(std::filesystem::exists(data_dir_ + "/sample-data-written"));
  EXPECT_THAT(SampleValue(Metrics(),
                          "crm_eventstore_appends_total{service=\"contact\"}"),
              Optional(0.0));
  status = stub_->GetContact(Context("acme").get(), get, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.family_name(), "Testcase");
  EXPECT_THAT(Terminate(), Optional(0));
}

// The output of one crmctl run.
struct CrmctlRun {
  int exit_code = -1;  // -1: killed after its time limit, or a signal.
  std::string out;
  std::string err;

  // stdout as JSON objects, one per non-empty line; a line that is not
  // JSON fails the test.
  std::vector<nlohmann::json> Lines() const {
    std::vector<nlohmann::json> lines;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
      EXPECT_FALSE(object.is_discarded()) << "not JSON: " << line;
      lines.push_back(std::move(object));
    }
    return lines;
  }
};

std::string ReadWhole(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class SuiteCrmctlTest : public SuiteProcessTest {
 protected:
  // Runs crmctl --server <the suite> --tenant acme --actor cli-test --json
  // `args` as a child process (no CRM_* variables), at most 60 s.
  CrmctlRun Crmctl(std::vector<std::string> args) {
    const auto out = dir_.path() / "crmctl.out";
    const auto err = dir_.path() / "crmctl.err";
    std::vector<std::string> arguments = {
        CRMCTL_BINARY, "--server", ready_["grpc_address"].get<std::string>(),
        "--tenant",    "acme",     "--actor",
        "cli-test",    "--json"};
    arguments.insert(arguments.end(), args.begin(), args.end());
    CrmctlRun run;
    const absl::StatusOr<pid_t> spawned =
        SpawnChild(std::move(arguments), {}, out.string(), err.string());
    if (!spawned.ok()) {
      ADD_FAILURE() << spawned.status();
      return run;
    }
    const pid_t pid = *spawned;
    int status = 0;
    if (!WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; },
                 absl::Seconds(60))) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "crmctl " << fmt::format("{}", fmt::join(args, " "))
                    << " did not finish in 60 s";
    } else if (WIFEXITED(status)) {
      run.exit_code = WEXITSTATUS(status);
    }
    run.out = ReadWhole(out);
    run.err = ReadWhole(err);
    return run;
  }
};

TEST_F(SuiteCrmctlTest, CrmctlSessionAgainstTheProcessIsServedAndCounted) {
  ASSERT_NO_FATAL_FAILURE(Start({"CRM_SAMPLE_DATA=false"}));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Health("") == grpc::health::v1::HealthCheckResponse::SERVING;
      },
      absl::Seconds(60)));

  // create
  CrmctlRun run =
      Crmctl({"create", "--given-name", "Ada", "--family-name", "Lovelace",
              "--email", "ada@example.com", "--tag", "vip"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<nlohmann::json> lines = run.Lines();
  ASSERT_EQ(lines.size(), 1u) << run.out;
  const std::string name = lines[0]["contact"]["name"];
  ASSERT_EQ(name.rfind("contacts/", 0), 0u) << name;
  EXPECT_EQ(lines[0]["contact"]["givenName"], "Ada");

  // get
  run = Crmctl({"get", name});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  lines = run.Lines();
  ASSERT_EQ(lines.size(), 1u) << run.out;
  EXPECT_EQ(lines[0]["familyName"], "Lovelace");
  EXPECT_EQ(lines[0]["emails"][0]["address"], "ada@example.com");
  EXPECT_EQ(lines[0]["etag"], "1");

  // update (with the etag read)
  run = Crmctl({"update", name, "--job-title", "Countess", "--etag", "1"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  lines = run.Lines();
  ASSERT_EQ(lines.size(), 1u) << run.out;
  EXPECT_EQ(lines[0]["contact"]["jobTitle"], "Countess");
  EXPECT_EQ(lines[0]["contact"]["etag"], "2");

  // history: the creation and the update, in order
  run = Crmctl({"history", name});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  lines = run.Lines();
  ASSERT_EQ(lines.size(), 2u) << run.out;
  EXPECT_EQ(lines[0]["eventType"], "crm.contact.v1.ContactCreated");
  EXPECT_EQ(lines[1]["eventType"], "crm.contact.v1.ContactUpdated");
  EXPECT_EQ(lines[1]["actor"], "cli-test");

  // import a small CSV, one bad row
  const std::filesystem::path csv = dir_.path() / "people.csv";
  std::ofstream(csv) << "given_name,family_name,email\n"
                        "Alan,Turing,alan@example.com\n"
                        "Grace,Hopper,grace@example.com\n"
                        ",,not-an-email\n";
  run = Crmctl(
      {"import", csv.string(), "--import-id", "cli-csv-1", "--no-progress"});
  EXPECT_EQ(run.exit_code, 2) << run.err;  // A row was refused.
  lines = run.Lines();
  ASSERT_FALSE(lines.empty()) << run.out;
  const nlohmann::json& progress = lines.back();
  EXPECT_EQ(progress.value("rowsReceived", ""), "3") << progress.dump();
  EXPECT_EQ(progress.value("rowsCreated", ""), "2") << progress.dump();
  EXPECT_EQ(progress.value("rowsFailed", ""), "1") << progress.dump();
  // With --json the refused row is a line of its own on stdout; a row's key
  // is its line in the file (the header is line 1).
  const bool line_4_refused =
      std::any_of(lines.begin(), lines.end(), [](const nlohmann::json& line) {
        return line.value("rowKey", "") == "4" &&
               line.value("outcome", "") == "IMPORT_ROW_OUTCOME_FAILED" &&
               !line.value("errorMessage", "").empty();
      });
  EXPECT_TRUE(line_4_refused) << run.out;

  // list: Ada and the two imported people
  run = Crmctl({"list"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  lines = run.Lines();
  std::set<std::string> families;
  for (const nlohmann::json& contact : lines) {
    families.insert(contact.value("familyName", ""));
  }
  EXPECT_EQ(families, (std::set<std::string>{"Lovelace", "Turing", "Hopper"}))
      << run.out;

  // export: the contact and its history
  run = Crmctl({"export", name});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  lines = run.Lines();
  int contacts = 0;
  int history = 0;
  for (const nlohmann::json& part : lines) {
    if (part.contains("contact")) {
      ++contacts;
      EXPECT_EQ(part["contact"]["jobTitle"], "Countess");
    }
    if (part.contains("historyEntry")) ++history;
  }
  EXPECT_EQ(contacts, 1) << run.out;
  EXPECT_EQ(history, 2) << run.out;

  // erase: the record stays, its personal data is gone
  run = Crmctl({"erase", name, "--yes", "--reason", "gdpr_request"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  lines = run.Lines();
  ASSERT_EQ(lines.size(), 1u) << run.out;
  EXPECT_EQ(lines[0]["contact"]["state"], "RECORD_STATE_ERASED");
  EXPECT_FALSE(lines[0]["contact"].contains("givenName")) << run.out;
  run = Crmctl({"get", name});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.Lines().at(0)["state"], "RECORD_STATE_ERASED");

  // A refusal: exit code 2, the code on stderr.
  run = Crmctl({"get", "not-a-uuid"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("INVALID_ARGUMENT"), std::string::npos) << run.err;

  // Every call of the session was counted by the server.
  const auto counted = [](const std::string& text, std::string_view method,
                          std::string_view code, double at_least) {
    const std::optional<double> value = SampleValue(
        text, fmt::format("crm_grpc_server_requests_total{{code=\"{}\","
                          "method=\"crm.contact.v1.ContactService/{}\"}}",
                          code, method));
    return value.has_value() && *value >= at_least;
  };
  std::string text;
  EXPECT_TRUE(WaitFor([&] {
    text = Metrics();
    return counted(text, "CreateContact", "OK", 1) &&
           counted(text, "GetContact", "OK", 2) &&
           counted(text, "UpdateContact", "OK", 1) &&
           counted(text, "ListHistory", "OK", 1) &&
           counted(text, "ImportContacts", "OK", 1) &&
           counted(text, "ListContacts", "OK", 1) &&
           counted(text, "ExportPersonalData", "OK", 1) &&
           counted(text, "EraseContact", "OK", 1) &&
           counted(text, "GetContact", "INVALID_ARGUMENT", 1);
  })) << text;

  EXPECT_THAT(Terminate(), Optional(0));
}

TEST_F(SuiteProcessTest, WritesNoSampleDataWhenTurnedOff) {
  ASSERT_NO_FATAL_FAILURE(Start({"CRM_SAMPLE_DATA=false"}));
  EXPECT_EQ(Health(""), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_TRUE(ListAll(kSampleTenant).empty());
  EXPECT_FALSE(std::filesystem::exists(data_dir_ + "/sample-data-written"));
  EXPECT_THAT(Terminate(), Optional(0));
}

}  // namespace
}  // namespace crm::suite
