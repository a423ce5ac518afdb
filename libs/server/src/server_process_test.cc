// The chassis as a process: server_echo_server started the way scripts and
// the Helm chart start a service (flags and CRM_* variables), found through
// its ready file, called, scraped, and stopped with SIGTERM while a call is
// in flight.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/server/testing/echo.grpc.pb.h"
#include "crm/testing/status_matchers.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server_test_util.h"
#include "store_test_util.h"

namespace crm::server {
namespace {

using ::crm::server::test_util::HttpGet;
using ::crm::server::test_util::SampleValue;
using ::crm::server::test_util::WaitFor;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr char kEchoSeries[] =
    "crm_grpc_server_requests_total{code=\"OK\",method="
    "\"crm.server.testing.EchoService/Echo\"}";
constexpr char kInFlightSeries[] =
    "crm_grpc_server_requests_in_flight{method="
    "\"crm.server.testing.EchoService/Echo\"}";

class ServerProcessTest : public ::testing::Test {
 protected:
  ServerProcessTest()
      : dir_("server_process"),
        log_path_((dir_.path() / "server.log").string()),
        ready_path_((dir_.path() / "ready.json").string()) {}

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Starts the echo server with `args` and the extra environment `env`
  // (NAME=value), its stdout and stderr going to log_path_.
  void Spawn(const std::vector<std::string>& args,
             const std::vector<std::string>& env = {}) {
    std::vector<std::string> arguments = {CRM_SERVER_ECHO_SERVER};
    arguments.insert(arguments.end(), args.begin(), args.end());
    absl::StatusOr<pid_t> pid =
        test_util::SpawnChild(std::move(arguments), env, log_path_);
    ASSERT_TRUE(pid.ok()) << pid.status();
    pid_ = *pid;
  }

  // The exit code, or nullopt when the process runs on after `timeout`
  // (or died of a signal).
  std::optional<int> WaitForExit(absl::Duration timeout) {
    int status = 0;
    const bool exited = WaitFor(
        [&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
    if (!exited) return std::nullopt;
    pid_ = -1;
    if (!WIFEXITED(status)) return std::nullopt;
    return WEXITSTATUS(status);
  }

  // Every line the process logged, each parsed as one JSON object.
  std::vector<nlohmann::json> LogLines() const {
    std::ifstream in(log_path_);
    std::vector<nlohmann::json> lines;
    std::string line;
    while (std::getline(in, line)) {
      nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(object.is_object()) << "not a JSON object: " << line;
      lines.push_back(std::move(object));
    }
    return lines;
  }

  eventstore::test_util::ScratchDir dir_;
  const std::string log_path_;
  const std::string ready_path_;
  pid_t pid_ = -1;
};

TEST_F(ServerProcessTest, ServesThenDrainsInFlightCallsOnSigterm) {
  ASSERT_NO_FATAL_FAILURE(Spawn(
      {"--grpc-listen", "127.0.0.1:0", "--shutdown-grace", "10s"},
      {"CRM_METRICS_LISTEN=127.0.0.1:0", "CRM_READY_FILE=" + ready_path_}));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(ready_path_); },
                      absl::Seconds(30)))
      << "no ready file";
  std::ifstream in(ready_path_);
  const nlohmann::json ready = nlohmann::json::parse(in);
  EXPECT_EQ(ready["service"], "echo");
  EXPECT_EQ(ready["pid"], pid_);
  const std::string grpc_address = ready["grpc_address"];
  const std::string metrics_address = ready["metrics_address"];
  const int metrics_port =
      std::stoi(metrics_address.substr(metrics_address.rfind(':') + 1));

  auto channel =
      grpc::CreateChannel(grpc_address, grpc::InsecureChannelCredentials());
  auto echo = testing::EchoService::NewStub(channel);
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    testing::EchoRequest request;
    request.set_message("over the wire");
    testing::EchoResponse response;
    const grpc::Status status = echo->Echo(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.message(), "over the wire");
  }
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(grpc::health::v1::Health::NewStub(channel)
                    ->Check(&context, {}, &response)
                    .ok());
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
  }
  ASSERT_TRUE(WaitFor([&] {
    absl::StatusOr<std::string> body = HttpGet(metrics_port);
    return body.ok() && SampleValue(*body, kEchoSeries) == 1.0;
  }));

  // A slow call in flight when SIGTERM comes completes; then exit 0.
  grpc::Status slow_status;
  testing::EchoResponse slow_response;
  std::thread slow_call([&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    testing::EchoRequest request;
    request.set_message("slow");
    request.set_delay_ms(1500);
    slow_status = echo->Echo(&context, request, &slow_response);
  });
  ASSERT_TRUE(WaitFor([&] {
    absl::StatusOr<std::string> body = HttpGet(metrics_port);
    return body.ok() && SampleValue(*body, kInFlightSeries) == 1.0;
  }));
  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  slow_call.join();
  EXPECT_TRUE(slow_status.ok()) << slow_status.error_message();
  EXPECT_EQ(slow_response.message(), "slow");
  EXPECT_THAT(WaitForExit(absl::Seconds(15)), Optional(0));
  EXPECT_FALSE(std::filesystem::exists(ready_path_));

  bool saw_sigterm = false;
  bool saw_shut_down = false;
  for (const nlohmann::json& line : LogLines()) {
    EXPECT_EQ(line.value("service", ""), "echo");
    EXPECT_TRUE(line.contains("level") && line.contains("time"));
    if (line.value("message", "") == "shutting down") {
      saw_sigterm = line.value("reason", "") == "SIGTERM";
    }
    if (line.value("message", "") == "calls left after drain") {
      EXPECT_EQ(line["waiting_calls"], 0);
    }
    if (line.value("message", "") == "shut down") {
      saw_shut_down = line.value("ok", false);
    }
    if (line.value("message", "") == "echo") {
      EXPECT_FALSE(line.value("correlation_id", "").empty());
    }
  }
  EXPECT_TRUE(saw_sigterm);
  EXPECT_TRUE(saw_shut_down);
}

TEST_F(ServerProcessTest, InvalidConfigurationExitsWithTwoNamingTheSetting) {
  ASSERT_NO_FATAL_FAILURE(
      Spawn({"--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"},
            {"CRM_LOG_LEVEL=loud"}));
  EXPECT_THAT(WaitForExit(absl::Seconds(15)), Optional(2));
  const std::vector<nlohmann::json> lines = LogLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "error");
  EXPECT_THAT(lines[0].value("message", ""),
              HasSubstr("--log-level (CRM_LOG_LEVEL)"));
}

TEST_F(ServerProcessTest, HelpExitsWithZero) {
  ASSERT_NO_FATAL_FAILURE(Spawn({"--help"}));
  EXPECT_THAT(WaitForExit(absl::Seconds(15)), Optional(0));
  std::ifstream in(log_path_);
  const std::string help((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  EXPECT_THAT(help, HasSubstr("CRM_READY_FILE"));
}

}  // namespace
}  // namespace crm::server
