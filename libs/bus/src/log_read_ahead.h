// LogReadAhead: reads a store's log on a thread of its own, ahead of the
// outbox relay, so that reading overlaps producing. Events are read raw
// (EventStore::ReadAllRawInto): the stored envelope bytes are produced as
// they are, never parsed and serialized again. Holds at most two batches:
// the one handed out and the one prepared next.
// Internal to libs/bus.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"

namespace crm::bus {

class LogReadAhead {
 public:
  // One event, ready to produce: `envelope` is the message value.
  using Event = eventstore::RawEvent;

  // Starts reading at global position `from`, `batch_events` at a time.
  // Errors: those of EventStore::SubscribeToAll.
  static absl::StatusOr<std::unique_ptr<LogReadAhead>> Start(
      eventstore::EventStore& store, uint64_t from, size_t batch_events);

  // Stops the reading thread.
  ~LogReadAhead();

  // Swaps the next prepared batch into `batch` (whose memory is reused for
  // a later one), waiting up to `timeout`; `batch` is empty on timeout.
  // Errors: the log's (UNAVAILABLE, DATA_LOSS): the reader has stopped;
  // start a new one from the next position.
  absl::Status Next(absl::Duration timeout, std::vector<Event>& batch);

 private:
  explicit LogReadAhead(std::unique_ptr<eventstore::Subscription> subscription)
      : subscription_(std::move(subscription)) {}
  void Run();

  const std::unique_ptr<eventstore::Subscription> subscription_;
  std::thread thread_;

  absl::Mutex mu_;
  std::vector<Event> ready_ ABSL_GUARDED_BY(mu_);
  bool has_ready_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace crm::bus
