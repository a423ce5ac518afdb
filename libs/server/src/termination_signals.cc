#include "termination_signals.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include "fmt/format.h"

namespace crm::server {
namespace {

// The pipe lives as long as the process: a handler running on another
// thread while an instance is destroyed must never write to a closed (or
// reused) descriptor.
int pipe_read_fd = -1;
int pipe_write_fd = -1;
std::atomic<bool> installed{false};
struct sigaction previous_term;
struct sigaction previous_int;

// Byte that wakes the watcher up to stop.
constexpr unsigned char kStop = 0;

void OnSignal(int signal) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(signal);
  // Non-blocking: with the pipe full, the signal is already pending anyway.
  [[maybe_unused]] const ssize_t written = write(pipe_write_fd, &byte, 1);
  errno = saved_errno;
}

absl::Status CreatePipeOnce() {
  static std::once_flag once;
  static int error = 0;
  std::call_once(once, [] {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      error = errno;
      return;
    }
    pipe_read_fd = fds[0];
    pipe_write_fd = fds[1];
  });
  if (error != 0) {
    return absl::InternalError(
        fmt::format("cannot create the signal pipe: {}", std::strerror(error)));
  }
  return absl::OkStatus();
}

void DrainPipe() {
  unsigned char buffer[64];
  while (read(pipe_read_fd, buffer, sizeof(buffer)) > 0) {
  }
}

}  // namespace

std::string SignalName(int signal) {
  if (signal == SIGTERM) return "SIGTERM";
  if (signal == SIGINT) return "SIGINT";
  return fmt::format("signal {}", signal);
}

absl::StatusOr<std::unique_ptr<TerminationSignals>> TerminationSignals::Install(
    std::function<void(int signal)> on_signal) {
  if (absl::Status status = CreatePipeOnce(); !status.ok()) return status;
  if (installed.exchange(true)) {
    return absl::FailedPreconditionError(
        "another ServiceHost already handles SIGTERM and SIGINT; set "
        "Options::handle_signals = false on all but one");
  }
  DrainPipe();  // Leftovers of an earlier instance.
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = &OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (sigaction(SIGTERM, &action, &previous_term) != 0 ||
      sigaction(SIGINT, &action, &previous_int) != 0) {
    const int error = errno;
    sigaction(SIGTERM, &previous_term, nullptr);
    installed = false;
    return absl::InternalError(
        fmt::format("cannot install the SIGTERM/SIGINT handlers: {}",
                    std::strerror(error)));
  }
  return std::unique_ptr<TerminationSignals>(
      new TerminationSignals(std::move(on_signal)));
}

TerminationSignals::TerminationSignals(std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)), watcher_([this] { Watch(); }) {}

TerminationSignals::~TerminationSignals() {
  sigaction(SIGTERM, &previous_term, nullptr);
  sigaction(SIGINT, &previous_int, nullptr);
  const unsigned char stop = kStop;
  // The pipe has room: the watcher keeps draining it.
  [[maybe_unused]] const ssize_t written = write(pipe_write_fd, &stop, 1);
  watcher_.join();
  installed = false;
}

void TerminationSignals::Watch() {
  while (true) {
    pollfd readable{pipe_read_fd, POLLIN, 0};
    if (poll(&readable, 1, -1) < 0 && errno != EINTR) return;
    unsigned char buffer[64];
    const ssize_t count = read(pipe_read_fd, buffer, sizeof(buffer));
    for (ssize_t i = 0; i < count; ++i) {
      if (buffer[i] == kStop) return;
      on_signal_(buffer[i]);
    }
  }
}

}  // namespace crm::server
