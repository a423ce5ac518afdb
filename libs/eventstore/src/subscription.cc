#include <algorithm>

#include "absl/status/status.h"
#include "crm/base/status_macros.h"
#include "rocksdb_event_store.h"
#include "subscription_internal.h"

namespace crm::eventstore::internal {

LogSubscription::LogSubscription(const RocksDbEventStore& store,
                                 uint64_t from_position,
                                 SubscriptionOptions options)
    : store_(store),
      options_(options),
      next_position_(std::max<uint64_t>(from_position, 1)) {}

absl::StatusOr<std::vector<Envelope>> LogSubscription::Next(
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  // Two reads at most: one to catch up, and one after waiting for a commit
  // (or the deadline). Events are read from the log by position, so the
  // switch from catching up to following live appends can neither skip nor
  // repeat one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (cancelled_.load()) {
      return absl::CancelledError("the subscription was cancelled");
    }
    ASSIGN_OR_RETURN(AllSlice slice,
                     store_.ReadAll(next_position_, options_.max_batch_events));
    if (!slice.events.empty()) {
      next_position_ = slice.next_position;
      return std::move(slice.events);
    }
    if (attempt == 0) {
      store_.WaitForPosition(
          next_position_, &cancelled_,
          std::max(deadline - absl::Now(), absl::ZeroDuration()));
    }
  }
  if (cancelled_.load()) {
    return absl::CancelledError("the subscription was cancelled");
  }
  return std::vector<Envelope>();
}

void LogSubscription::Cancel() {
  cancelled_.store(true);
  store_.WakeWaiters();
}

}  // namespace crm::eventstore::internal
