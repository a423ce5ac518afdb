// A closed-loop load of unary gRPC calls for `crm-bench contact`: `in_flight`
// calls are outstanding at all times; each one that finishes is recorded
// and replaced by the next, until the duration or the call count is used
// up.
//
//   ASSIGN_OR_RETURN(ClosedLoopRun run, RunClosedLoop(
//       {.in_flight = 64, .duration = absl::Seconds(10)},
//       [&](size_t slot, uint64_t seq, CallDone done) {
//         ... start one asynchronous call (gRPC callback API) for `slot`,
//         and call done(status) from its completion callback ...
//       }));
//
// Thread safety: `start` is called for different slots concurrently (from
// gRPC's callback threads); a slot's next call starts only after its
// previous one finished.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "latency_recorder.h"

namespace crm::bench {

struct ClosedLoopOptions {
  size_t in_flight = 64;  // REQUIRES: > 0.
  // The load stops starting calls after `duration` or `max_calls` calls,
  // whichever comes first (max_calls 0: no count limit).
  absl::Duration duration = absl::Seconds(10);
  uint64_t max_calls = 0;
  // Longest the load waits for the last calls after it stopped starting
  // new ones (each call should carry a deadline shorter than this).
  absl::Duration drain_timeout = absl::Seconds(30);
};

struct ClosedLoopRun {
  uint64_t calls = 0;       // Finished OK.
  uint64_t errors = 0;      // Finished with another status.
  std::string first_error;  // "<code>: <message>" of the first error.
  absl::Duration elapsed;   // From the first start to the last finish.
  LatencyRecorder latency;  // Of the calls that finished OK.

  double CallsPerSecond() const {
    return static_cast<double>(calls) / absl::ToDoubleSeconds(elapsed);
  }
};

using CallDone = std::function<void(const grpc::Status&)>;
// Starts call number `seq` (0, 1, ... over all slots) on `slot`
// (0 <= slot < in_flight) and arranges for `done` to be called once when
// it finishes.
using StartCall = std::function<void(size_t slot, uint64_t seq, CallDone done)>;

// Runs the load. Errors: DEADLINE_EXCEEDED when calls are still out after
// drain_timeout (then `start`'s captures must stay alive until they finish:
// the process should end); CANCELLED when a stop was requested
// (StopRequested()).
absl::StatusOr<ClosedLoopRun> RunClosedLoop(const ClosedLoopOptions& options,
                                            const StartCall& start);

}  // namespace crm::bench
