// Consumer: applies other services' events to this service's store, exactly
// once in effect (DESIGN.md §6).
//
// A consumer reads the topics `crm.<source>.events.v1` of the services it
// follows and calls an EventHandler for every event. Whatever the handler
// writes goes into a batch of the consuming service's own event store, and
// the consumer's offsets commit in that same RocksDB WriteBatch, so after any
// crash each event's effect is there exactly once. The consumer never trusts
// Kafka's committed offsets: on start and on every rebalance it seeks to the
// offsets stored with the effects.
//
// Two transports, one behaviour (see bus.h):
//  - Kafka: a consumer group `crm.<service>.<purpose>` over the source
//    topics; partitions are shared among the group's members.
//  - Embedded (no Kafka, one process): the consumer reads the publishers'
//    event stores directly; each source is one partition whose offsets are
//    global positions.
//
// Example:
//
//   class TimelineFromSales final : public EventHandler {
//    public:
//     absl::Status Handle(const Envelope& event, const EventOrigin& origin,
//                         HandlerBatch& batch) override {
//       if (event.type() != "crm.sales.v1.QuoteSent") return absl::OkStatus();
//       ... batch.Put(*timeline_family_, key, entry) ...
//     }
//   };
//   ConsumerOptions options{.service = "contact", .purpose = "timeline",
//                           .sources = {"sales"}};
//   ASSIGN_OR_RETURN(std::unique_ptr<Consumer> consumer,
//                    bus.StartConsumer(*store, handler, options));
//
// Duplicates: the outbox relay may publish an event again after a crash
// (at-least-once); the consumer skips every event already applied. It knows
// them by their identity in the publisher's log: a partition carries a
// publisher's events in increasing global position (the relay publishes in
// log order, the idempotent producer keeps that order), so an event whose
// global position is not above the highest one applied from its partition is
// a copy of an event already applied (the same event_id) and is skipped and
// counted. This costs no lookup per event and never lets an older copy
// overtake a newer event of its stream.
//
// Dead letters, sequenced: a handler error is retried (max_attempts, with
// backoff). An event that still fails is dead-lettered: it is recorded in
// the store with the error, published to `crm.<service>.dlq.v1` (Kafka
// mode) with headers `error`, `source_topic`, `source_partition`,
// `source_offset`, `event_id` and `type`, counted (status().dead_lettered),
// and its stream is *parked*: every later event of that stream is stored
// behind it instead of being handled, so no handler ever sees a stream out of
// order, while the other streams of the partition flow on. An operator lists
// parked streams (ListParked) and, once the cause is fixed, re-drives them
// (Redrive): the parked events are handled in order, exactly once.
//
// Thread safety: every method may be called from any thread. The consumer
// runs one thread of its own (plus librdkafka's in Kafka mode); the handler
// is called on it, one event at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/common/v1/event_envelope.pb.h"

namespace rocksdb {
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace crm::bus {

using Envelope = ::crm::common::v1::EventEnvelope;

// Where a consumed event came from. In embedded mode the partition is 0 and
// the offset is the event's global position in the publisher's log.
struct EventOrigin {
  std::string topic;  // e.g. "crm.sales.events.v1"
  int32_t partition = 0;
  int64_t offset = 0;
};

// What a handler writes through: a batch of the consuming service's store
// that commits together with the consumer's offsets. Reads see the writes
// staged before them in the same batch. Write only to column families of
// the consuming store that the service created for itself (never "es_*").
// Not thread-safe; valid only during the Handle call it was given to.
class HandlerBatch {
 public:
  virtual ~HandlerBatch() = default;

  // The value of `key` in `family`, staged writes first, or nullopt.
  // Errors: UNAVAILABLE or DATA_LOSS when the store cannot be read.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      rocksdb::ColumnFamilyHandle& family, std::string_view key) const = 0;
  virtual void Put(rocksdb::ColumnFamilyHandle& family, std::string_view key,
                   std::string_view value) = 0;
  virtual void Delete(rocksdb::ColumnFamilyHandle& family,
                      std::string_view key) = 0;
};

class EventHandler {
 public:
  virtual ~EventHandler() = default;

  // Handles one event (of any type; ignore those that do not matter) by
  // staging its effects in `batch`. When it returns an error, everything it
  // staged for this event is discarded and the event is retried, then
  // dead-lettered. Effects outside `batch` must be idempotent (e.g. an
  // append to the store with a request_id derived from the event's
  // event_id), since an event can be handled again after a crash before its
  // batch committed.
  virtual absl::Status Handle(const Envelope& event, const EventOrigin& origin,
                              HandlerBatch& batch) = 0;
};

struct ConsumerOptions {
  // The consuming service: names the dead-letter topic
  // "crm.<service>.dlq.v1". Required; 1 to 64 of [a-z0-9-].
  std::string service;

  // What the consumer is for, e.g. "timeline". The consumer group is
  // "crm.<service>.<purpose>", and the stored offsets and parked streams are
  // kept under that name. Required; 1 to 64 of [a-z0-9-_].
  std::string purpose;

  // The services whose events are consumed (topics crm.<source>.events.v1).
  // Required; at least one, no duplicates.
  std::vector<std::string> sources;

  // Attempts per event before it is dead-lettered (at least 1). Default: 3.
  int max_attempts = 3;
  // Wait before the first retry; doubled per retry. Default: 100 ms.
  absl::Duration retry_backoff = absl::Milliseconds(100);

  // Most events handled in one batch (one synced RocksDB write). Larger
  // batches are faster and redo more work after a crash. Default: 500.
  size_t max_batch_events = 500;

  // How long the consumer waits for events before it checks for a stop or
  // an operator request. Default: 100 ms.
  absl::Duration poll_interval = absl::Milliseconds(100);
};

// A stream whose events wait behind a dead-lettered one.
struct ParkedStream {
  std::string topic;   // The source topic.
  std::string stream;  // The stream (the Kafka message key).
  // The first parked event: the one that failed.
  std::string event_id;  // Empty when the message could not be parsed.
  std::string type;
  EventOrigin origin;
  std::string error;  // The handler's last error for it.
  absl::Time parked_at;
  uint64_t parked_events = 0;  // The failed one and those behind it.
  uint64_t redrive_attempts = 0;
};

struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;      // The next offset to consume (stored).
  int64_t high_watermark = -1;  // The partition's end; -1 when not known.
  int64_t lag = 0;              // high_watermark - next_offset, at least 0.
};

struct ConsumerStatus {
  enum class State {
    kStarting,   // Joining the group / opening the sources.
    kConsuming,  // Assigned partitions and reading them.
    kFailed,     // An error it keeps retrying (see last_error).
  };
  State state = State::kStarting;
  std::vector<PartitionLag> partitions;   // Assigned to this consumer.
  uint64_t lag = 0;                       // Sum over the partitions.
  uint64_t handled = 0;                   // Events handled since start.
  uint64_t duplicates_skipped = 0;        // Copies skipped since start.
  uint64_t dead_lettered = 0;             // Events dead-lettered since start.
  uint64_t parked_streams = 0;            // Streams parked now.
  uint64_t dead_letters_unpublished = 0;  // Waiting for the DLQ topic.
  absl::Status last_error;
};

std::string_view ConsumerStateName(ConsumerStatus::State state);

class Consumer {
 public:
  // Stops the consumer's thread after its current batch (committing it) and
  // leaves the group.
  virtual ~Consumer() = default;

  virtual ConsumerStatus status() const = 0;

  // Waits until every partition assigned to this consumer has been consumed
  // up to its end (lag 0) and at least one partition is assigned.
  // Errors: DEADLINE_EXCEEDED when `timeout` passes first (the message says
  // the lag).
  virtual absl::Status WaitUntilCaughtUp(absl::Duration timeout) const = 0;

  // Up to `max_count` parked streams, ordered by (topic, stream), after the
  // pair (`after_topic`, `after_stream`) (both empty = from the first).
  // Errors: INVALID_ARGUMENT for max_count 0; UNAVAILABLE or DATA_LOSS when
  // the store cannot be read.
  virtual absl::StatusOr<std::vector<ParkedStream>> ListParked(
      size_t max_count, std::string_view after_topic = "",
      std::string_view after_stream = "") const = 0;

  // Handles the parked events of `stream` from `topic` in order (each with
  // its effects and its removal from the parking in one batch) and unparks
  // the stream when all succeeded. Runs on the consumer's thread between
  // batches; waits up to `timeout` for it. Returns the number of events
  // handled.
  // Errors: NOT_FOUND when the stream is not parked; FAILED_PRECONDITION
  // when an event still fails (the message has the handler's error; it and
  // the events behind it stay parked, those before it are applied);
  // DEADLINE_EXCEEDED when `timeout` passes before the consumer got to it
  // (it still runs); UNAVAILABLE when the store cannot be written.
  virtual absl::StatusOr<uint64_t> Redrive(std::string_view topic,
                                           std::string_view stream,
                                           absl::Duration timeout) = 0;
};

// The name of the column family that holds consumers' offsets, parked
// streams and dead letters (docs/storage-format.md).
inline constexpr char kConsumerColumnFamily[] = "bus_consumer";

}  // namespace crm::bus
