#include "crm/dev_broker/dev_broker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "fmt/format.h"
#include "line_reader_internal.h"

namespace crm::dev_broker {
namespace {

// How a waitpid() status ended the process: exit code or 128 + signal.
int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

absl::StatusOr<std::unique_ptr<DevBrokerProcess>> DevBrokerProcess::Start(
    const Options& options) {
  if (options.binary.empty()) {
    return absl::InvalidArgumentError(
        "DevBrokerProcess::Options::binary is empty; pass the path of "
        "crm-dev-broker (e.g. a CRM_DEV_BROKER_PATH compile definition)");
  }
  std::vector<std::string> args = {
      options.binary, "--brokers", std::to_string(options.brokers),
      "--partitions", std::to_string(options.partitions)};
  if (options.control) {
    args.insert(args.end(), {"--control-listen", "127.0.0.1:0"});
  }
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  // Everything the child needs is built before fork(): between fork() and
  // exec() a multi-threaded parent's child may only make async-signal-safe
  // calls.
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::UnavailableError(
        fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    const std::string error = std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return absl::UnavailableError(fmt::format("cannot fork: {}", error));
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy.
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::unique_ptr<DevBrokerProcess> process(new DevBrokerProcess(pid, fds[0]));
  const absl::Time deadline = absl::Now() + options.start_timeout;
  absl::StatusOr<std::string> bootstrap =
      process->stdout_reader_->ReadLine(deadline);
  absl::StatusOr<std::string> control =
      options.control ? process->stdout_reader_->ReadLine(deadline)
                      : std::string();
  for (const absl::StatusOr<std::string>* line : {&bootstrap, &control}) {
    if (line->ok()) continue;
    const int ended = process->Kill();
    return absl::Status(
        line->status().code(),
        fmt::format("{} did not print its addresses: {} (exit status {}; see "
                    "its stderr)",
                    options.binary, std::string(line->status().message()),
                    ended));
  }
  process->bootstrap_ = *std::move(bootstrap);
  process->control_address_ = *std::move(control);
  return process;
}

DevBrokerProcess::DevBrokerProcess(pid_t pid, int stdout_fd)
    : pid_(pid),
      stdout_fd_(stdout_fd),
      // The dev broker's lines are addresses: far below this.
      stdout_reader_(std::make_unique<internal::LineReader>(stdout_fd, 4096)) {}

DevBrokerProcess::~DevBrokerProcess() {
  if (pid_ > 0) Kill();
  close(stdout_fd_);
}

int DevBrokerProcess::Kill() {
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return ExitCode(status);
}

absl::StatusOr<int> DevBrokerProcess::Stop(absl::Duration timeout) {
  if (pid_ <= 0) {
    return absl::FailedPreconditionError("the dev broker is already stopped");
  }
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return ExitCode(status);
    }
    if (absl::Now() >= deadline) break;
    // Polling a child's exit: there is no portable wait with a timeout.
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError(
      fmt::format("the dev broker (pid {}) did not exit within {} of SIGTERM",
                  pid_, absl::FormatDuration(timeout)));
}

}  // namespace crm::dev_broker
