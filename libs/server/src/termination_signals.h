// Delivers SIGTERM and SIGINT to a callback on a thread of its own.
// Internal to libs/server.
//
// The signal handler only writes the signal number to a pipe (async-signal
// safe, whichever thread the signal lands on); the watcher thread reads it
// and calls the callback, where any work is allowed. No signal mask needs
// to be set up before other threads start.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace crm::server {

class TerminationSignals {
 public:
  // Installs the handlers; `on_signal` gets SIGTERM or SIGINT on the
  // watcher thread, once per signal received.
  // Errors: FAILED_PRECONDITION when another instance is installed;
  // INTERNAL when the pipe or the handlers cannot be set up.
  static absl::StatusOr<std::unique_ptr<TerminationSignals>> Install(
      std::function<void(int signal)> on_signal);

  // Restores the previous handlers and stops the watcher thread.
  ~TerminationSignals();

  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;

 private:
  explicit TerminationSignals(std::function<void(int)> on_signal);
  void Watch();

  std::function<void(int)> on_signal_;
  std::thread watcher_;
};

// "SIGTERM", "SIGINT", or "signal <n>".
std::string SignalName(int signal);

}  // namespace crm::server
