// LocalLogSource: an EventSource over a store's own log, through
// EventStore::SubscribeToAll. Its checkpoint is the last applied global
// position, 8 bytes big-endian (projection_storage.h).
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "crm/base/status_macros.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/event_feed.h"
#include "fmt/format.h"
#include "projection_storage.h"

namespace crm::projection {
namespace {

using eventstore::EventStore;
using eventstore::Subscription;

class LocalLogFeed final : public EventFeed {
 public:
  LocalLogFeed(EventStore& store, uint64_t after)
      : store_(store), position_(after), seen_last_(store.LastPosition()) {}

  absl::Status Next(absl::Duration timeout, size_t max_events,
                    std::vector<Envelope>& events,
                    std::string& checkpoint) override {
    if (max_events == 0) {
      return absl::InvalidArgumentError(
          "EventFeed::Next needs max_events of at least 1");
    }
    if (subscription_ == nullptr || max_events != max_events_) {
      // A subscription pages by a fixed count: follow a new one from where
      // this feed is.
      ASSIGN_OR_RETURN(std::unique_ptr<Subscription> subscription,
                       store_.SubscribeToAll(position_ + 1,
                                             {.max_batch_events = max_events}));
      absl::MutexLock lock(&mu_);
      if (cancelled_) subscription->Cancel();
      subscription_ = std::move(subscription);
      max_events_ = max_events;
    }
    // Delivering what the store held before the read is being caught up.
    const uint64_t last = store_.LastPosition();
    RETURN_IF_ERROR(subscription_->NextInto(timeout, events));
    if (!events.empty()) {
      position_ = events.back().global_position();
      checkpoint = EncodeCheckpoint(position_);
    }
    seen_last_ = std::max(seen_last_, last);
    return absl::OkStatus();
  }

  bool CaughtUp() const override { return position_ >= seen_last_; }
  uint64_t Position() const override { return position_; }
  uint64_t Lag() const override {
    const uint64_t last = store_.LastPosition();
    return last - std::min(last, position_);
  }

  void Cancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (subscription_ != nullptr) subscription_->Cancel();
  }

 private:
  EventStore& store_;
  // Replaced only by the thread calling Next, under mu_ (Cancel reads it).
  std::unique_ptr<Subscription> subscription_;
  size_t max_events_ = 0;
  uint64_t position_;   // The last global position delivered.
  uint64_t seen_last_;  // The store's last position at the last look.
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

class LocalLog final : public EventSource {
 public:
  explicit LocalLog(EventStore& store) : store_(store) {}

  absl::StatusOr<std::unique_ptr<EventFeed>> Open(
      std::string_view checkpoint) override {
    uint64_t after = 0;
    if (!checkpoint.empty()) {
      std::optional<uint64_t> decoded = DecodeCheckpoint(checkpoint);
      if (!decoded.has_value()) {
        return absl::DataLossError(fmt::format(
            "a checkpoint of the local event log must be 8 bytes, not {}; "
            "drop the projection version's column family to rebuild it",
            checkpoint.size()));
      }
      after = *decoded;
    }
    return std::make_unique<LocalLogFeed>(store_, after);
  }

  std::string Describe() const override { return "the local event log"; }

 private:
  EventStore& store_;
};

}  // namespace

std::unique_ptr<EventSource> LocalLogSource(eventstore::EventStore& store) {
  return std::make_unique<LocalLog>(store);
}

}  // namespace crm::projection
