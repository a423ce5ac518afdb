// UseReleaseMutexMode: what a release binary sets before it starts threads.
//
// Debian builds Abseil without NDEBUG, so absl::Mutex keeps checking lock
// order for potential deadlocks on every Lock of every build of ours: it
// records each pair of locks held together in one process-wide graph, under
// one process-wide lock, which every thread of a busy server then contends
// for. Our release binaries (NDEBUG) turn the check off at start; debug
// builds, the tests among them, keep it, and it aborts a test that takes
// two mutexes in an order that could deadlock.
#pragma once

#include "absl/synchronization/mutex.h"

namespace crm::base {

inline void UseReleaseMutexMode() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

}  // namespace crm::base
