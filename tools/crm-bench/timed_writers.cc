#include "timed_writers.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "run_control.h"

namespace crm::bench {
namespace {

// Far more than any disk allows in a benchmark's time; bounds the loop
// should the clock misbehave.
constexpr uint64_t kMaxCallsPerWriter = 1'000'000'000;

struct WriterResult {
  uint64_t events = 0;
  uint64_t calls = 0;
  absl::Time end;
  LatencyRecorder latency;
};

}  // namespace

absl::StatusOr<TimedRun> RunTimedWriters(int writers, absl::Duration duration,
                                         const WriteCall& call) {
  std::vector<WriterResult> results(static_cast<size_t>(writers));
  std::atomic<bool> failed{false};
  absl::Mutex mu;
  absl::Status first_error;  // Guarded by mu.

  const absl::Time start = absl::Now();
  const absl::Time deadline = start + duration;
  std::vector<std::thread> threads;
  threads.reserve(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      WriterResult& mine = results[i];
      std::mt19937_64 rng(0x9e3779b97f4a7c15ULL * (i + 1));
      absl::Time now = absl::Now();
      while (now < deadline && mine.calls < kMaxCallsPerWriter &&
             !failed.load(std::memory_order_relaxed) && !StopRequested()) {
        absl::StatusOr<uint64_t> written = call(rng);
        const absl::Time done = absl::Now();
        if (!written.ok()) {
          absl::MutexLock lock(&mu);
          if (first_error.ok()) first_error = written.status();
          failed.store(true, std::memory_order_relaxed);
          break;
        }
        mine.latency.Record(done - now);
        mine.events += *written;
        ++mine.calls;
        now = done;
      }
      mine.end = now;
    });
  }
  for (std::thread& thread : threads) thread.join();

  {
    absl::MutexLock lock(&mu);
    if (!first_error.ok()) return first_error;
  }
  if (StopRequested()) return absl::CancelledError("stopped by a signal");
  TimedRun run;
  absl::Time end = start;
  for (const WriterResult& result : results) {
    run.events += result.events;
    run.calls += result.calls;
    run.latency.Merge(result.latency);
    end = std::max(end, result.end);
  }
  run.elapsed = end - start;
  return run;
}

}  // namespace crm::bench
