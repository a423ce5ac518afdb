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

template <typename Slice, typename Read>
absl::Status LogSubscription::NextBatch(absl::Duration timeout,
                                        decltype(Slice::events)& batch,
                                        Read read) {
  const absl::Time deadline = absl::Now() + timeout;
  // The batch's events are read into a slice that borrows its storage.
  Slice slice;
  slice.events.swap(batch);
  auto give_back = [&](absl::Status status) {
    slice.events.swap(batch);
    if (!status.ok()) batch.clear();
    return status;
  };
  // Two reads at most: one to catch up, and one after waiting for a commit
  // (or the deadline). Events are read from the log by position, so the
  // switch from catching up to following live appends can neither skip nor
  // repeat one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (cancelled_.load()) {
      return give_back(absl::CancelledError("the subscription was cancelled"));
    }
    absl::Status status =
        read(next_position_.load(), options_.max_batch_events, slice);
    if (!status.ok()) return give_back(status);
    if (!slice.events.empty()) {
      next_position_ = slice.next_position;
      return give_back(absl::OkStatus());
    }
    if (attempt == 0) {
      store_.WaitForPosition(
          next_position_, &cancelled_,
          std::max(deadline - absl::Now(), absl::ZeroDuration()));
    }
  }
  if (cancelled_.load()) {
    return give_back(absl::CancelledError("the subscription was cancelled"));
  }
  return give_back(absl::OkStatus());
}

absl::Status LogSubscription::NextInto(absl::Duration timeout,
                                       std::vector<Envelope>& batch) {
  return NextBatch<AllSlice>(
      timeout, batch, [this](uint64_t from, size_t max, AllSlice& slice) {
        return store_.ReadAllInto(from, max, slice);
      });
}

absl::Status LogSubscription::NextRawInto(absl::Duration timeout,
                                          std::vector<RawEvent>& batch) {
  return NextBatch<RawSlice>(
      timeout, batch, [this](uint64_t from, size_t max, RawSlice& slice) {
        return store_.ReadAllRawInto(from, max, slice);
      });
}

void LogSubscription::Cancel() {
  cancelled_.store(true);
  store_.WakeWaiters();
}

}  // namespace crm::eventstore::internal
