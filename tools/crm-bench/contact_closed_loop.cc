#include "contact_closed_loop.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "fmt/format.h"
#include "run_control.h"

namespace crm::bench {
namespace {

// Errors after which the load stops starting calls: a server that fails
// every call would otherwise be hammered (and, when calls fail inline,
// recursed into) until the duration ends.
constexpr uint64_t kMaxErrors = 100;

// What the slots' callbacks share; kept alive by them.
struct LoopState {
  ClosedLoopOptions options;
  StartCall start;
  absl::Time begin;
  absl::Time stop_at;

  absl::Mutex mutex;
  uint64_t next_seq ABSL_GUARDED_BY(mutex) = 0;
  size_t active ABSL_GUARDED_BY(mutex) = 0;  // Slots not finished yet.
  absl::Time last_finish ABSL_GUARDED_BY(mutex);
  ClosedLoopRun run ABSL_GUARDED_BY(mutex);
};

// Starts the next call on `slot`, or retires the slot when the load is over.
void Launch(const std::shared_ptr<LoopState>& state, size_t slot) {
  uint64_t seq = 0;
  {
    absl::MutexLock lock(&state->mutex);
    const absl::Time now = absl::Now();
    if (now >= state->stop_at ||
        (state->options.max_calls != 0 &&
         state->next_seq >= state->options.max_calls) ||
        state->run.errors >= kMaxErrors || StopRequested()) {
      --state->active;
      state->last_finish = std::max(state->last_finish, now);
      return;
    }
    seq = state->next_seq++;
  }
  const absl::Time started = absl::Now();
  state->start(slot, seq, [state, slot, started](const grpc::Status& status) {
    const absl::Time finished = absl::Now();
    {
      absl::MutexLock lock(&state->mutex);
      if (status.ok()) {
        ++state->run.calls;
        state->run.latency.Record(finished - started);
      } else {
        if (state->run.errors++ == 0) {
          state->run.first_error =
              fmt::format("{}: {}", static_cast<int>(status.error_code()),
                          status.error_message());
        }
      }
      state->last_finish = std::max(state->last_finish, finished);
    }
    Launch(state, slot);
  });
}

}  // namespace

absl::StatusOr<ClosedLoopRun> RunClosedLoop(const ClosedLoopOptions& options,
                                            const StartCall& start) {
  auto state = std::make_shared<LoopState>();
  state->options = options;
  state->start = start;
  state->begin = absl::Now();
  state->stop_at = state->begin + options.duration;
  {
    absl::MutexLock lock(&state->mutex);
    state->active = options.in_flight;
    state->last_finish = state->begin;
  }
  for (size_t slot = 0; slot < options.in_flight; ++slot) Launch(state, slot);

  absl::MutexLock lock(&state->mutex);
  auto all_done = [&state]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mutex) {
    return state->active == 0;
  };
  if (!state->mutex.AwaitWithDeadline(absl::Condition(&all_done),
                                      state->stop_at + options.drain_timeout)) {
    return absl::DeadlineExceededError(fmt::format(
        "{} calls were still running {} s after the load ended; the server "
        "does not answer: look at its log",
        state->active, absl::ToDoubleSeconds(options.drain_timeout)));
  }
  if (StopRequested()) return absl::CancelledError("stopped by a signal");
  ClosedLoopRun run = std::move(state->run);
  run.elapsed = state->last_finish - state->begin;
  return run;
}

}  // namespace crm::bench
