// crm-suite as a process, the way run.sh and a user start it: found through
// its ready file, health checked, called over gRPC, scraped, stopped with
// SIGTERM and restarted on the same data directory.
//
// crmctl (tools/crmctl) did not exist when this test was written: the
// session goes through a gRPC stub (create, get, list).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
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
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server_test_util.h"
#include "store_test_util.h"

extern char** environ;

namespace crm::suite {
namespace {

namespace v1 = contact::v1;
using ::crm::server::test_util::HttpGet;
using ::crm::server::test_util::SampleValue;
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
    std::vector<char*> argv;
    for (std::string& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    std::vector<std::string> environment = env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      if (std::string_view(*entry).rfind("CRM_", 0) != 0) {
        environment.emplace_back(*entry);
      }
    }
    std::vector<char*> envp;
    for (std::string& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int error = posix_spawn(&pid_, argv[0], &actions, nullptr,
                                  argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ASSERT_EQ(error, 0) << "cannot start " << argv[0];

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
  EXPECT_THAT(SampleValue(text, "crm_eventstore_appends_total"),
              Optional(::testing::Ge(kSampleContacts + 1)));
  EXPECT_TRUE(SampleValue(text, "crm_eventstore_last_position").has_value());
  EXPECT_THAT(
      SampleValue(text,
                  "crm_projection_state{projection=\"contacts_by_id\",state="
                  "\"live\"}"),
      Optional(1.0));
  EXPECT_TRUE(SampleValue(text,
                          "crm_projection_lag_events{projection="
                          "\"contact_list\"}")
                  .has_value());
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
  EXPECT_THAT(SampleValue(Metrics(), "crm_eventstore_appends_total"),
              Optional(0.0));
  status = stub_->GetContact(Context("acme").get(), get, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.family_name(), "Testcase");
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
