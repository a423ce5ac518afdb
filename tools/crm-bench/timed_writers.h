// RunTimedWriters: several threads calling one write operation back to back
// for a fixed time, each call timed. Shared by the store's append scenarios
// and their raw RocksDB ceilings so that both are driven identically.
#pragma once

#include <cstdint>
#include <functional>
#include <random>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "latency_recorder.h"

namespace crm::bench {

struct TimedRun {
  uint64_t events = 0;  // Sum of what the calls returned.
  uint64_t calls = 0;
  // From the start of the first writer to the end of the last call.
  absl::Duration elapsed;
  LatencyRecorder latency;  // One sample per call.

  double EventsPerSecond() const {
    const double seconds = absl::ToDoubleSeconds(elapsed);
    return seconds > 0 ? static_cast<double>(events) / seconds : 0;
  }
};

// One write; returns how many events it wrote. Called concurrently from
// every writer thread, each with its own generator.
using WriteCall = std::function<absl::StatusOr<uint64_t>(std::mt19937_64&)>;

// Runs `writers` threads that call `call` until `duration` has passed, a
// stop is requested (then CANCELLED), or a call fails (then its error; the
// other writers stop after their current call).
absl::StatusOr<TimedRun> RunTimedWriters(int writers, absl::Duration duration,
                                         const WriteCall& call);

}  // namespace crm::bench
