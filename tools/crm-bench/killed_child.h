// RunChildAndKill: runs this binary again as a child process, waits until the
// child reports on its stdout that it is ready, then kills it with SIGKILL
// and reaps it. Used to leave a store exactly as a crash leaves it.
//
// The child is a fresh exec of /proc/self/exe rather than a bare fork, so it
// does not inherit this process's threads or RocksDB's thread pools (a forked
// child would have the pools' bookkeeping without their threads).
//
// The child protocol: print kChildReadyLine on stdout once the state to be
// measured is in place, then keep still until killed. A child that exits by
// itself, or is not ready within the timeout, is an error.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace crm::bench {

inline constexpr char kChildReadyLine[] = "ready\n";

// `args` follow the program name (e.g. {"eventstore-fill", "--path", p}).
// Errors: UNAVAILABLE when the child cannot be started; INTERNAL when it
// exits before it is ready (with its exit status); DEADLINE_EXCEEDED when
// it is not ready within `timeout` (it is killed and reaped all the same);
// CANCELLED when a stop was requested while waiting.
absl::Status RunChildAndKill(const std::vector<std::string>& args,
                             absl::Duration timeout);

}  // namespace crm::bench
