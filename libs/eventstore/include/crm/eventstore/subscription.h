// Subscription: follows a store's log from a global position, catching up on
// committed events and then receiving new ones as they commit.
//
//   ASSIGN_OR_RETURN(auto sub, store->SubscribeToAll(checkpoint + 1));
//   while (running) {
//     ASSIGN_OR_RETURN(std::vector<Envelope> batch,
//                      sub->Next(absl::Seconds(1)));
//     for (const Envelope& event : batch) Apply(event);
//   }
//
// Delivery: every committed event from the start position on, exactly once,
// in global-position order, with no gap and no duplicate where catching up
// turns into following live appends.
//
// Backpressure: the subscription pulls from the log only when Next() is
// called and holds at most max_batch_events events, so a slow subscriber
// costs bounded memory and never slows appends.
//
// Thread safety: Next() must be called from one thread at a time; Cancel()
// may be called from any thread, also while Next() waits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/common/v1/event_envelope.pb.h"
#include "crm/eventstore/raw_event.h"

namespace crm::eventstore {

struct SubscriptionOptions {
  // Most events one Next() returns (and the subscription holds).
  // Default: 512.
  size_t max_batch_events = 512;
};

class Subscription {
 public:
  virtual ~Subscription() = default;

  // Returns the next events (1 to max_batch_events), waiting up to `timeout`
  // for one to commit when the subscription has caught up; returns an empty
  // vector when the timeout passes first.
  // Errors: CANCELLED after Cancel(); UNAVAILABLE or DATA_LOSS when the log
  // cannot be read.
  absl::StatusOr<std::vector<::crm::common::v1::EventEnvelope>> Next(
      absl::Duration timeout);

  // Next into `batch`, reusing the memory of the events it already holds:
  // the way to follow the log in a loop without allocating for every event.
  // On timeout `batch` is empty.
  virtual absl::Status NextInto(
      absl::Duration timeout,
      std::vector<::crm::common::v1::EventEnvelope>& batch) = 0;

  // NextInto with raw events (EventStore::ReadAllRawInto): for readers that
  // forward the stored envelopes unchanged. One subscription may mix both.
  virtual absl::Status NextRawInto(absl::Duration timeout,
                                   std::vector<RawEvent>& batch) = 0;

  // Makes a waiting and every later Next() return CANCELLED. Idempotent.
  virtual void Cancel() = 0;

  // Global position of the next event this subscription will deliver.
  virtual uint64_t next_position() const = 0;
};

}  // namespace crm::eventstore
