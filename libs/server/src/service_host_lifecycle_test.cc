// ServiceHost's life: TLS and mutual TLS, the ready file, shutdown (drain,
// cancel past the drain deadline, steps in order), and start errors.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crm/server/service_host.h"
#include "gmock/gmock.h"
#include "host_test_fixture.h"
#include "nlohmann/json.hpp"
#include "test_certificates.h"

namespace crm::server {
namespace {

using ::crm::server::test_util::CallResult;
using ::crm::server::test_util::EchoRequest;
using ::crm::server::test_util::EchoResponse;
using ::crm::server::test_util::WaitFor;
using ::crm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ServiceHostLifecycleTest : public test_util::HostTest {
 protected:
  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = (dir_.path() / name).string();
    std::ofstream(path) << content;
    return path;
  }

  // A config serving TLS with the test PKI's server certificate.
  ServerConfig TlsConfig(bool require_client_certificates) {
    ServerConfig config = Config();
    config.tls.cert_file = WriteFile("server.crt", pki_.server_cert);
    config.tls.key_file = WriteFile("server.key", pki_.server_key);
    if (require_client_certificates) {
      config.tls.client_ca_file = WriteFile("ca.crt", pki_.ca_cert);
    }
    return config;
  }

  std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(
      bool with_client_certificate) const {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pki_.ca_cert;
    if (with_client_certificate) {
      options.pem_cert_chain = pki_.client_cert;
      options.pem_private_key = pki_.client_key;
    }
    return grpc::SslCredentials(options);
  }

  grpc::Status EchoOver(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    EchoRequest request;
    request.set_message("secret-free");
    return Echo(Channel(std::move(credentials)), request, absl::Seconds(5))
        .status;
  }

  const test_util::TestCertificates pki_ = test_util::MakeTestCertificates();
};

TEST_F(ServiceHostLifecycleTest, TlsServesOnlyTls) {
  ASSERT_NO_FATAL_FAILURE(
      StartHost(TlsConfig(/*require_client_certificates=*/false)));
  const grpc::Status over_tls = EchoOver(TlsCredentials(false));
  EXPECT_TRUE(over_tls.ok()) << over_tls.error_message();
  EXPECT_EQ(EchoOver(grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServiceHostLifecycleTest, MutualTlsRequiresAClientCertificate) {
  ASSERT_NO_FATAL_FAILURE(
      StartHost(TlsConfig(/*require_client_certificates=*/true)));
  const grpc::Status with_certificate = EchoOver(TlsCredentials(true));
  EXPECT_TRUE(with_certificate.ok()) << with_certificate.error_message();
  EXPECT_EQ(EchoOver(TlsCredentials(false)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServiceHostLifecycleTest, ReadyFileExistsExactlyWhileServing) {
  ServerConfig config = Config();
  config.ready_file = (dir_.path() / "ready.json").string();
  std::atomic<bool> ready{false};
  ServiceHost::Options options;
  options.readiness = [&ready] {
    return ready ? absl::OkStatus() : absl::UnavailableError("not yet");
  };
  options.readiness_poll_interval = absl::Milliseconds(10);
  ASSERT_NO_FATAL_FAILURE(StartHost(config, std::move(options)));
  EXPECT_FALSE(std::filesystem::exists(config.ready_file));

  ready = true;
  ASSERT_TRUE(
      WaitFor([&] { return std::filesystem::exists(config.ready_file); }));
  std::ifstream in(config.ready_file);
  const nlohmann::json content = nlohmann::json::parse(in);
  EXPECT_EQ(content["service"], "echo");
  EXPECT_EQ(content["pid"], getpid());
  EXPECT_EQ(content["grpc_address"], host_->grpc_address().ToString());
  EXPECT_EQ(content["metrics_address"], metrics_->address().ToString());
  EXPECT_TRUE(host_->serving());
  // Nothing but the file itself is left in its directory (no temp file).
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    entries += entry.path().filename() == "ready.json" ? 0 : 1;
  }
  EXPECT_EQ(entries, 0);

  host_->RequestShutdown();
  EXPECT_OK(host_->Wait());
  EXPECT_FALSE(std::filesystem::exists(config.ready_file));
}

TEST_F(ServiceHostLifecycleTest, ShutdownDrainsCallsThenRunsStepsInOrder) {
  std::vector<std::string> steps;
  absl::Time step_deadline;
  ServiceHost::Options options;
  options.shutdown_steps = {
      {"flush",
       [&](absl::Time deadline) {
         // The drain is over: no call is left.
         steps.push_back(fmt::format("flush:{}", echo_.waiting_calls()));
         step_deadline = deadline;
         return absl::OkStatus();
       }},
      {"close", [&](absl::Time /*deadline*/) {
         steps.push_back("close");
         return absl::OkStatus();
       }}};
  ASSERT_NO_FATAL_FAILURE(StartHost(Config(), std::move(options)));

  CallResult<EchoResponse> slow;
  std::thread caller([this, &slow] { slow = Echo("in flight", 1000); });
  ASSERT_TRUE(WaitFor([this] { return echo_.waiting_calls() == 1; }));
  const absl::Time shutdown_start = absl::Now();
  host_->RequestShutdown();
  EXPECT_OK(host_->Wait());
  caller.join();

  EXPECT_TRUE(slow.status.ok()) << slow.status.error_message();
  EXPECT_EQ(slow.response.message(), "in flight");
  EXPECT_THAT(steps, ElementsAre("flush:0", "close"));
  // Steps get the end of the grace period.
  EXPECT_GE(step_deadline, shutdown_start + absl::Seconds(10));
  EXPECT_NE(Echo("after").status.error_code(), grpc::StatusCode::OK);
}

TEST_F(ServiceHostLifecycleTest,
       CallsStillRunningAtTheDrainDeadlineAreCancelled) {
  ServerConfig config = Config();
  config.shutdown_grace = absl::Seconds(1);
  ASSERT_NO_FATAL_FAILURE(StartHost(config));
  CallResult<EchoResponse> stuck;
  std::thread caller([this, &stuck] {
    EchoRequest request;
    request.set_delay_ms(60'000);
    stuck = Echo(Channel(), request, absl::Seconds(60));
  });
  ASSERT_TRUE(WaitFor([this] { return echo_.waiting_calls() == 1; }));
  host_->RequestShutdown();
  EXPECT_OK(host_->Wait());
  caller.join();
  EXPECT_FALSE(stuck.status.ok());
  EXPECT_EQ(echo_.waiting_calls(), 0);
}

TEST_F(ServiceHostLifecycleTest, StepErrorIsReturnedAfterEveryStepRan) {
  bool second_ran = false;
  ServiceHost::Options options;
  options.shutdown_steps = {
      {"flush relay",
       [](absl::Time) { return absl::DeadlineExceededError("brokers down"); }},
      {"close store", [&second_ran](absl::Time) {
         second_ran = true;
         return absl::OkStatus();
       }}};
  ASSERT_NO_FATAL_FAILURE(StartHost(Config(), std::move(options)));
  host_->RequestShutdown();
  EXPECT_THAT(host_->Wait(), StatusIs(absl::StatusCode::kDeadlineExceeded,
                                      HasSubstr("brokers down")));
  EXPECT_TRUE(second_ran);
}

TEST_F(ServiceHostLifecycleTest, DestroyingAHostShutsItDown) {
  bool step_ran = false;
  ServiceHost::Options options;
  options.shutdown_steps = {{"step", [&step_ran](absl::Time) {
                               step_ran = true;
                               return absl::OkStatus();
                             }}};
  ASSERT_NO_FATAL_FAILURE(StartHost(Config(), std::move(options)));
  ASSERT_TRUE(Echo("x").status.ok());
  host_.reset();
  EXPECT_TRUE(step_ran);
}

TEST_F(ServiceHostLifecycleTest, StartRefusesABusyPortAndBadServices) {
  ASSERT_NO_FATAL_FAILURE(StartHost(Config()));
  ServerConfig same_port = Config();
  same_port.grpc_listen = host_->grpc_address();
  testing::EchoServiceImpl other;
  ServiceHost::Options options;
  options.services = {&other};
  options.handle_signals = false;
  EXPECT_THAT(ServiceHost::Start(same_port, *metrics_, options),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(same_port.grpc_listen.ToString())));

  options.services = {&other, &other};
  EXPECT_THAT(ServiceHost::Start(Config(), *metrics_, options),
              StatusIs(absl::StatusCode::kInvalidArgument));
  options.services = {nullptr};
  EXPECT_THAT(ServiceHost::Start(Config(), *metrics_, options),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ServiceHostLifecycleTest, OnlyOneHostHandlesSignals) {
  testing::EchoServiceImpl first_service;
  testing::EchoServiceImpl second_service;
  ServiceHost::Options first;
  first.services = {&first_service};
  ASSERT_OK_AND_ASSIGN(auto handling,
                       ServiceHost::Start(Config(), *metrics_, first));
  ServiceHost::Options second;
  second.services = {&second_service};
  EXPECT_THAT(ServiceHost::Start(Config(), *metrics_, second),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  handling.reset();
  ASSERT_OK_AND_ASSIGN(auto next,
                       ServiceHost::Start(Config(), *metrics_, second));
  next.reset();
}

}  // namespace
}  // namespace crm::server
