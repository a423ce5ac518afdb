#include "killed_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "run_control.h"

namespace crm::bench {
namespace {

constexpr char kSelf[] = "/proc/self/exe";

// Reads the child's stdout until the ready line, EOF, a stop request or the
// deadline. Returns true when the child said it is ready.
bool WaitForReady(int fd, absl::Time deadline) {
  std::string received;
  const std::string_view ready(kChildReadyLine);
  // Each round waits at most 100 ms, so the loop ends soon after the deadline
  // or a stop request.
  while (absl::Now() < deadline && !StopRequested() && received.size() < 4096) {
    pollfd pfd = {fd, POLLIN, 0};
    const int polled = poll(&pfd, 1, 100);
    if (polled < 0 && errno != EINTR) return false;
    if (polled <= 0) continue;
    char buffer[64];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // EOF: the child exited.
    received.append(buffer, static_cast<size_t>(n));
    if (received.find(ready) != std::string::npos) return true;
  }
  return false;
}

std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    return absl::StrCat("was killed by signal ", WTERMSIG(wait_status));
  }
  return "stopped";
}

}  // namespace

absl::Status RunChildAndKill(const std::vector<std::string>& args,
                             absl::Duration timeout) {
  // Everything the child needs is built before fork: after it, the child
  // only calls async-signal-safe functions.
  std::vector<std::string> argv_strings = {kSelf};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_strings.size() + 1);
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::UnavailableError(
        absl::StrCat("pipe for the child: ", std::strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return absl::UnavailableError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // The child dies with us even if we die before killing it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    if (dup2(pipe_fds[1], STDOUT_FILENO) < 0) _exit(126);
    execv(kSelf, argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  const bool ready = WaitForReady(pipe_fds[0], absl::Now() + timeout);

  // Kill it whatever happened: ready or not, it must not outlive this call.
  kill(pid, SIGKILL);
  int wait_status = 0;
  pid_t reaped = -1;
  do {
    reaped = waitpid(pid, &wait_status, 0);
  } while (reaped < 0 && errno == EINTR);
  close(pipe_fds[0]);
  if (reaped != pid) {
    return absl::InternalError(
        absl::StrCat("waitpid(", pid, "): ", std::strerror(errno)));
  }

  if (ready) {
    if (WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL) {
      return absl::OkStatus();
    }
    return absl::InternalError(absl::StrCat("the child was ready but ",
                                            DescribeExit(wait_status),
                                            " before it was killed"));
  }
  if (StopRequested()) return absl::CancelledError("stopped by a signal");
  if (WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the child was not ready within ", absl::FormatDuration(timeout),
        "; it was killed (see its messages above)"));
  }
  return absl::InternalError(
      absl::StrCat("the child ", DescribeExit(wait_status),
                   " before it was ready (see its messages above)"));
}

}  // namespace crm::bench
