// Where a projection's events come from: the service's own event log (the
// default, LocalLogSource) or another service's Kafka topic (libs/bus).
//
// The ProjectionEngine opens one EventFeed per stored checkpoint (the
// versions at one checkpoint share it) and applies what Next returns; the
// checkpoint Next returns is stored in the same RocksDB WriteBatch as the
// state those events produced, so after a crash or restart the engine
// reopens the source just after the last batch it committed: every event
// has its effect exactly once as long as the source redelivers exactly the
// events after a checkpoint.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<EventFeed> feed, source.Open(stored));
//   std::vector<Envelope> events;
//   std::string checkpoint;
//   RETURN_IF_ERROR(feed->Next(absl::Milliseconds(100), 4096, events,
//                              checkpoint));
//   ... apply `events`, then commit the state with `checkpoint` ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/common/v1/event_envelope.pb.h"

namespace crm::eventstore {
class EventStore;
}

namespace crm::projection {

using Envelope = ::crm::common::v1::EventEnvelope;

// One reader of a source, from one position on. Next, CaughtUp, Position and
// Lag are called by one thread at a time (the engine's runner of the
// versions reading it); Cancel by any thread at any time.
class EventFeed {
 public:
  virtual ~EventFeed() = default;

  // Waits up to `timeout` for events after the feed's position; clears
  // `events` and fills it with 1 to `max_events` of them, in the order the
  // projection must apply them, and sets `checkpoint` to the opaque position
  // just after them (the engine stores it with the batch that applies them
  // and passes it to EventSource::Open after a restart). The events held in
  // `events` on entry may be reused as storage.
  //
  // Returns OK with no events when the timeout passes first; `checkpoint` is
  // then unspecified and not stored. The feed's position moves only past
  // events it returned: after an error, the next call delivers what the
  // failed one would have.
  // Errors:
  //  - CANCELLED after Cancel().
  //  - UNAVAILABLE when the source cannot be read for now (disk, broker):
  //    the engine keeps the feed and calls Next again after a bounded
  //    backoff; the projection shows the error but does not fail.
  //  - DATA_LOSS (or any other code) when the source cannot deliver the
  //    events after its position (corrupt, or deleted by retention): the
  //    projection version fails with this status.
  // REQUIRES: max_events >= 1.
  virtual absl::Status Next(absl::Duration timeout, size_t max_events,
                            std::vector<Envelope>& events,
                            std::string& checkpoint) = 0;

  // True when the feed has delivered everything the source held when it
  // last looked (during the last Next, or later). The engine serves a
  // version it builds only once it is caught up, and reports a serving one
  // as live (caught up) or catching_up.
  virtual bool CaughtUp() const = 0;

  // The highest global_position (of the source's own log) delivered so far;
  // before the first event, that of the checkpoint the feed was opened
  // from. The engine reports it as a version's position (status, views,
  // WaitForPosition) once the batch that delivered it has committed.
  virtual uint64_t Position() const = 0;

  // How many events the source holds beyond what was delivered, as far as
  // the feed knows (best effort, for status and metrics).
  virtual uint64_t Lag() const = 0;

  // Makes a waiting and every later Next return CANCELLED. Idempotent;
  // thread-safe.
  virtual void Cancel() = 0;
};

// A source of events that can be read from any checkpoint it produced.
// Thread-safe: the engine opens feeds from its runners' threads, possibly
// at the same time.
class EventSource {
 public:
  virtual ~EventSource() = default;

  // A feed starting just after `checkpoint` (empty = from the beginning of
  // the source). The caller owns the feed; it must not outlive the source.
  // Errors: INVALID_ARGUMENT or DATA_LOSS for a checkpoint it cannot decode
  // (the projection version fails); UNAVAILABLE when the source cannot be
  // reached for now (the engine retries with backoff).
  virtual absl::StatusOr<std::unique_ptr<EventFeed>> Open(
      std::string_view checkpoint) = 0;

  // For messages and status, e.g. "the local event log" or "Kafka topic
  // crm.sales.events.v1".
  virtual std::string Describe() const = 0;
};

// The default source: `store`'s own log, in global-position order. Its
// checkpoint is the global position of the last event applied as 8 bytes,
// big-endian (the encoding checkpoints had before sources were pluggable,
// so existing stores keep working). Its feeds are caught up when they have
// delivered the store's last position as of their last read, and their lag
// is the store's last position minus Position().
// REQUIRES: `store` outlives the source and its feeds.
std::unique_ptr<EventSource> LocalLogSource(eventstore::EventStore& store);

}  // namespace crm::projection
