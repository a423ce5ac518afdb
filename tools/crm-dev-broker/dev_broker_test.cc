// Starts crm-dev-broker as a child process, talks Kafka and the control
// protocol to it, and stops it with SIGTERM.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/dev_broker/dev_broker_control.h"
#include "crm/dev_broker/dev_broker_process.h"
#include "crm/testing/status_matchers.h"
#include "dev_broker_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::dev_broker {
namespace {

using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using test_util::BrokerOptions;
using ::testing::HasSubstr;

constexpr char kTopic[] = "crm.contact.events.v1";

class DevBrokerTest : public ::testing::Test {
 protected:
  // A path in the test's temp dir, unique to this process, removed at the
  // end of the test.
  std::string TempFile(const std::string& name) {
    std::string path = (std::filesystem::path(::testing::TempDir()) /
                        ("dev_broker_" + std::to_string(getpid()) + "_" + name))
                           .string();
    std::filesystem::remove(path);
    temp_files_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& path : temp_files_) std::filesystem::remove(path);
  }

  static std::string FirstLine(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
  }

 private:
  std::vector<std::string> temp_files_;
};

TEST_F(DevBrokerTest, ServesTopicsAndExitsZeroOnSigterm) {
  const std::string file = TempFile("bootstrap");
  DevBrokerProcess::Options options = BrokerOptions(1, /*control=*/false);
  options.extra_args = {"--bootstrap-file", file};
  ASSERT_OK_AND_ASSIGN(auto broker, DevBrokerProcess::Start(options));
  EXPECT_THAT(broker->bootstrap(), HasSubstr("127.0.0.1:"));
  EXPECT_EQ(broker->control_address(), "");
  EXPECT_EQ(FirstLine(file), broker->bootstrap());

  {
    test_util::TestProducer producer(broker->bootstrap(),
                                     {{"enable.idempotence", "true"}});
    ASSERT_TRUE(producer.ok());
    ASSERT_TRUE(producer.Produce(kTopic, RD_KAFKA_PARTITION_UA, "hello"));
    EXPECT_EQ(producer.Flush(absl::Seconds(10)), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(producer.delivered(), 1);
  }
  EXPECT_THAT(test_util::ReadValues(broker->bootstrap(), kTopic, 2, 1,
                                    absl::Seconds(10)),
              ::testing::ElementsAre("hello"));
  EXPECT_THAT(broker->Stop(absl::Seconds(10)), IsOkAndHolds(0));
}

TEST_F(DevBrokerTest, PrintsAndWritesControlAddressAndAnswersPing) {
  const std::string bootstrap_file = TempFile("bootstrap");
  const std::string control_file = TempFile("control");
  DevBrokerProcess::Options options = BrokerOptions(1, /*control=*/true);
  options.extra_args = {"--bootstrap-file", bootstrap_file, "--control-file",
                        control_file};
  ASSERT_OK_AND_ASSIGN(auto broker, DevBrokerProcess::Start(options));
  EXPECT_THAT(broker->control_address(), ::testing::StartsWith("127.0.0.1:"));
  EXPECT_NE(broker->control_address(), "127.0.0.1:0");
  EXPECT_EQ(FirstLine(bootstrap_file), broker->bootstrap());
  EXPECT_EQ(FirstLine(control_file), broker->control_address());

  ASSERT_OK_AND_ASSIGN(auto control,
                       DevBrokerControl::Connect(broker->control_address()));
  EXPECT_THAT(control->Send("ping"), IsOkAndHolds("pong"));
  EXPECT_THAT(control->Send("  ping\r"), IsOkAndHolds("pong"));
  EXPECT_THAT(broker->Stop(absl::Seconds(10)), IsOkAndHolds(0));
}

TEST_F(DevBrokerTest, BadCommandsGetErrorsAndConnectionStaysUsable) {
  ASSERT_OK_AND_ASSIGN(
      auto broker, DevBrokerProcess::Start(BrokerOptions(2, /*control=*/true)));
  ASSERT_OK_AND_ASSIGN(auto control,
                       DevBrokerControl::Connect(broker->control_address()));
  struct Case {
    std::string command;
    std::string message;  // A part of the error the broker must send.
  };
  const std::vector<Case> cases = {
      {"", "empty command; accepted: ping, broker-down, broker-up"},
      {"frobnicate 1", "unknown command 'frobnicate'; accepted: ping"},
      {"broker-down", "usage: broker-down <id>"},
      {"ping extra", "usage: ping"},
      {"broker-down 3", "brokers 1 to 2"},
      {"broker-up 0", "brokers 1 to 2"},
      {"broker-down one", "brokers 1 to 2"},
      {"broker-rtt 1 -5", "rtt in ms must be a whole number from 0 to 60000"},
      {"request-errors Frobnicate NOT_LEADER_FOR_PARTITION",
       "unknown Kafka API 'Frobnicate'; use a name or key from: Produce (0)"},
      {"request-errors 99 6", "unknown Kafka API '99'"},
      {"request-errors Produce NOT_AN_ERROR", "unknown error 'NOT_AN_ERROR'"},
      {"request-errors Produce 6 0", "count must be a whole number from 1"},
      {"partition-leader crm.contact.events.v1 0 7", "(or -1 for none)"},
      {"topic-error bad/topic NO_ERROR", "topic name 'bad/topic' is not valid"},
      {"create-topic t 0", "partitions must be a whole number from 1 to 256"},
      {"create-topic crm.contact.events.v1 2",
       "the mock refused creating topic crm.contact.events.v1"},
      {std::string(5000, 'x'), "command longer than 4096 bytes"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(
        control->Send(c.command),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.command.substr(0, 60);
  }
  EXPECT_THAT(control->Send("ping"), IsOkAndHolds("pong"));
  EXPECT_THAT(control->Send("two\nlines"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(control->Send("ping"), IsOkAndHolds("pong"));
  EXPECT_THAT(broker->Stop(absl::Seconds(10)), IsOkAndHolds(0));
}

TEST_F(DevBrokerTest, LimitsConcurrentControlConnections) {
  ASSERT_OK_AND_ASSIGN(
      auto broker, DevBrokerProcess::Start(BrokerOptions(1, /*control=*/true)));
  std::vector<std::unique_ptr<DevBrokerControl>> controls;
  for (int i = 0; i < 8; ++i) {
    ASSERT_OK_AND_ASSIGN(auto control,
                         DevBrokerControl::Connect(broker->control_address()));
    ASSERT_THAT(control->Send("ping"), IsOkAndHolds("pong")) << i;
    controls.push_back(std::move(control));
  }
  ASSERT_OK_AND_ASSIGN(auto ninth,
                       DevBrokerControl::Connect(broker->control_address()));
  EXPECT_THAT(ninth->Send("ping"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("too many control connections (limit 8)")));

  // A closed connection frees its place (once the broker has seen it go).
  controls.pop_back();
  bool served = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!served && absl::Now() < deadline) {
    ASSERT_OK_AND_ASSIGN(auto again,
                         DevBrokerControl::Connect(broker->control_address()));
    served = again->Send("ping").ok();
  }
  EXPECT_TRUE(served);
  EXPECT_THAT(controls.front()->Send("ping"), IsOkAndHolds("pong"));
  EXPECT_THAT(broker->Stop(absl::Seconds(10)), IsOkAndHolds(0));
}

TEST_F(DevBrokerTest, ExitsZeroOnSigtermWithControlConnectionOpen) {
  ASSERT_OK_AND_ASSIGN(
      auto broker, DevBrokerProcess::Start(BrokerOptions(1, /*control=*/true)));
  ASSERT_OK_AND_ASSIGN(auto control,
                       DevBrokerControl::Connect(broker->control_address()));
  ASSERT_THAT(control->Send("ping"), IsOkAndHolds("pong"));
  EXPECT_THAT(broker->Stop(absl::Seconds(10)), IsOkAndHolds(0));
  EXPECT_THAT(control->Send("ping", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable));
}

// Runs the dev broker with `flags` to its exit; returns its exit status and
// its stdout and stderr together.
std::pair<int, std::string> RunToExit(const std::string& flags) {
  const std::string command =
      std::string("'") + CRM_DEV_BROKER_PATH + "' " + flags + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST_F(DevBrokerTest, RefusesBadControlFlags) {
  // Every refusal happens while parsing flags, before any cluster starts,
  // so none of these processes keeps running.
  struct Case {
    std::string flags;
    int exit_code;
    std::string output;  // A part of what it must print.
  };
  const std::vector<Case> cases = {
      {"--control-listen 0.0.0.0:0", 2, "is not on loopback (127.0.0.0/8)"},
      {"--control-listen 192.168.1.1:5000", 2, "is not on loopback"},
      {"--control-listen 127.0.0.1", 2, "has no ':port'"},
      {"--control-listen 127.0.0.1:70000", 2, "no port number"},
      {"--control-file never-written", 2, "--control-listen"},
      {"--help", 0, "request-errors <api> <error> [count]"},
  };
  for (const Case& c : cases) {
    const auto [code, output] = RunToExit(c.flags);
    EXPECT_EQ(code, c.exit_code) << c.flags << ": " << output;
    EXPECT_THAT(output, HasSubstr(c.output)) << c.flags;
  }
}

TEST_F(DevBrokerTest, ExitsOneWhenControlPortIsTaken) {
  ASSERT_OK_AND_ASSIGN(
      auto broker, DevBrokerProcess::Start(BrokerOptions(1, /*control=*/true)));
  const auto [code, output] =
      RunToExit("--control-listen " + broker->control_address());
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("cannot listen on control address " +
                                broker->control_address()));
  EXPECT_THAT(broker->Stop(absl::Seconds(10)), IsOkAndHolds(0));
}

}  // namespace
}  // namespace crm::dev_broker
