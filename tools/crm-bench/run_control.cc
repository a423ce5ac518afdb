#include "run_control.h"

#include <signal.h>

#include <atomic>

namespace crm::bench {
namespace {

std::atomic<bool> stop_requested{false};

void OnStopSignal(int /*signal*/) {
  stop_requested.store(true, std::memory_order_relaxed);
}

}  // namespace

void InstallStopHandlers() {
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  action.sa_flags = SA_RESETHAND;  // A second signal gets the default action.
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool StopRequested() { return stop_requested.load(std::memory_order_relaxed); }

}  // namespace crm::bench
