// Runs crm-dev-broker as a child process for multi-process tests: starts it,
// reads the addresses it prints, stops it with SIGTERM.
//
//   // CMake: target_compile_definitions(my_test PRIVATE
//   //   CRM_DEV_BROKER_PATH="$<TARGET_FILE:crm-dev-broker>")
//   DevBrokerProcess::Options options;
//   options.binary = CRM_DEV_BROKER_PATH;
//   options.brokers = 3;
//   ASSERT_OK_AND_ASSIGN(auto broker, DevBrokerProcess::Start(options));
//   ... clients use broker->bootstrap() ...
//   ASSERT_OK_AND_ASSIGN(auto control,
//                        DevBrokerControl::Connect(broker->control_address()));
//   EXPECT_THAT(broker->Stop(absl::Seconds(10)), IsOkAndHolds(0));
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace crm::dev_broker {
namespace internal {
class LineReader;
}  // namespace internal

// Thread safety: not thread-safe; the accessors are safe to call from any
// thread once Start() has returned.
class DevBrokerProcess {
 public:
  struct Options {
    // Path of the crm-dev-broker binary (required).
    std::string binary;
    // --brokers and --partitions.
    int brokers = 1;
    int partitions = 4;
    // Adds --control-listen 127.0.0.1:0.
    bool control = true;
    // Further flags, e.g. {"--bootstrap-file", path}.
    std::vector<std::string> extra_args;
    // How long Start() waits for the addresses on stdout.
    absl::Duration start_timeout = absl::Seconds(10);
  };

  // Forks and execs `options.binary` with its stdout on a pipe (stderr is
  // inherited) and waits for its address lines.
  // INVALID_ARGUMENT: `binary` is empty.
  // UNAVAILABLE: the process exited or closed stdout first (bad flags, the
  //   port could not be bound, the binary could not be executed; its stderr
  //   says why). It has been reaped.
  // DEADLINE_EXCEEDED: no addresses within `start_timeout`; the process has
  //   been killed.
  static absl::StatusOr<std::unique_ptr<DevBrokerProcess>> Start(
      const Options& options);

  // Kills (SIGKILL) and reaps the process if Stop() did not.
  ~DevBrokerProcess();
  DevBrokerProcess(const DevBrokerProcess&) = delete;
  DevBrokerProcess& operator=(const DevBrokerProcess&) = delete;

  // Sends SIGTERM and waits for the exit. Returns the exit code, or 128 +
  // the signal number when a signal ended it. DEADLINE_EXCEEDED when it
  // has not exited within `timeout` (then the destructor kills it).
  // FAILED_PRECONDITION when already stopped.
  absl::StatusOr<int> Stop(absl::Duration timeout = absl::Seconds(10));

  // Line 1 of stdout: "127.0.0.1:port[,...]" for bootstrap.servers.
  const std::string& bootstrap() const { return bootstrap_; }
  // Line 2 of stdout: "127.0.0.1:port"; empty when `control` was false.
  const std::string& control_address() const { return control_address_; }
  pid_t pid() const { return pid_; }

 private:
  DevBrokerProcess(pid_t pid, int stdout_fd);
  // Kills and reaps the process; returns how it ended (as Stop() does).
  int Kill();

  pid_t pid_;  // -1 once reaped.
  int stdout_fd_;
  std::unique_ptr<internal::LineReader> stdout_reader_;
  std::string bootstrap_;
  std::string control_address_;
};

}  // namespace crm::dev_broker
