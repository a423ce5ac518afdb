// OutboxRelay: publishes a service's event log to Kafka (DESIGN.md §6).
//
// The relay tails the service's event store from its committed cursor and
// produces every event to `crm.<service>.events.v1` with the idempotent
// producer (acks=all): key = the event's stream, value = the serialized
// EventEnvelope, headers `event_id` and `type`. It moves its cursor (a global
// position) only over the contiguous prefix of events whose delivery Kafka
// acknowledged, and stores it in the store's column family "bus_relay"
// (key = topic, value = 8-byte big-endian position).
//
// Example:
//
//   RelayOptions options;
//   options.service = "contact";
//   options.kafka_config["bootstrap.servers"] = "kafka-0:9092";
//   ASSIGN_OR_RETURN(std::unique_ptr<OutboxRelay> relay,
//                    OutboxRelay::Start(*store, options));
//   ...
//   RETURN_IF_ERROR(relay->Flush(absl::Seconds(5)));  // e.g. before a drain
//
// Guarantees:
//  - At least once: every committed event reaches the topic. After a crash,
//    a restart or a producer reset, events past the cursor are produced
//    again, so a consumer can see an event twice; consumers deduplicate by
//    the `event_id` header (or the envelope's event_id).
//  - Per-stream order: events of one stream go to one partition in log order
//    (the idempotent producer keeps order across its retries).
//  - Independent of the write path: appends never wait for the relay; with
//    Kafka unreachable they keep succeeding, the relay retries, and it
//    catches up when Kafka returns.
//
// Thread safety: every method may be called concurrently from any thread.
// The relay runs two threads of its own (producing, and reading the log
// ahead), plus librdkafka's threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"

namespace crm::bus {

struct RelayOptions {
  // The service whose log is published: the topic is
  // "crm.<service>.events.v1". Required; lower-case letters, digits and '-'.
  std::string service;

  // librdkafka properties for the producer (see librdkafka's
  // CONFIGURATION.md). "bootstrap.servers" is required; put security settings
  // here too (security.protocol, ssl.*, sasl.*). The relay sets
  // enable.idempotence=true and acks=all and refuses other values of them,
  // and of max.in.flight.requests.per.connection above 5 (INVALID_ARGUMENT).
  // Defaults it sets unless given here: message.timeout.ms=0 (retry forever,
  // never drop), linger.ms=5, partitioner=murmur2_random (the Java
  // client's), reconnect.backoff.max.ms=1000, and
  // max.in.flight.requests.per.connection=1.
  // WARNING: values 2 to 5 of max.in.flight.requests.per.connection are
  // faster and safe against a real Kafka cluster, but against librdkafka
  // 2.0.2's mock cluster (tests, crm-dev-broker) they can lose events after
  // a REQUEST_TIMED_OUT (see README.md).
  std::map<std::string, std::string> kafka_config;

  // Most events produced but not yet acknowledged. Bounds the memory the
  // relay holds while Kafka is slow or down. Default: 10,000. Partitions
  // acknowledge independently: while one partition is slow or its leader is
  // down, the others go on, and the relay produces at most
  // 8 x max_in_flight events past its cursor (the cursor only passes a
  // contiguous acknowledged prefix; after a crash those are produced again).
  size_t max_in_flight = 10'000;

  // Most events read from the store at once. Default: 2,048 (about 700 KB
  // of 256-byte events; the relay holds two such batches).
  size_t read_batch_events = 2048;

  // How long the destructor waits for outstanding deliveries before it
  // drops them (they are produced again on the next start). Default: 2 s.
  absl::Duration shutdown_timeout = absl::Seconds(2);
};

// What the relay is doing, for health checks and metrics.
struct RelayStatus {
  enum class State {
    kProducing,     // Connected; publishing or caught up.
    kDisconnected,  // No broker reachable; retrying.
    kFailed,        // Stuck on an error it retries (see last_error).
  };
  uint64_t cursor = 0;         // Last position acknowledged and stored.
  uint64_t last_position = 0;  // The store's LastPosition() now.
  uint64_t lag = 0;            // last_position - cursor.
  State state = State::kProducing;
  bool connected = false;        // A broker acknowledged a delivery lately.
  uint64_t producer_resets = 0;  // Producers recreated after fatal errors.
  absl::Status last_error;       // The latest error met; OK when none.
};

class OutboxRelay {
 public:
  // Starts publishing `store`'s log, from the cursor stored in the store
  // (from the beginning of the log when none is stored).
  // Errors: INVALID_ARGUMENT for a bad service name, a missing
  // bootstrap.servers, an unknown or invalid librdkafka property, or a
  // refused override of the idempotence settings (the message names the
  // property); UNAVAILABLE when the cursor's column family cannot be
  // created or read; DATA_LOSS when the stored cursor is not 8 bytes.
  // Kafka being unreachable is not an error: the relay retries.
  // REQUIRES: `store` outlives the relay; one relay per (store, service).
  static absl::StatusOr<std::unique_ptr<OutboxRelay>> Start(
      eventstore::EventStore& store, RelayOptions options);

  // Stops the relay's thread: waits up to options.shutdown_timeout for
  // outstanding deliveries, stores the cursor reached, and closes the
  // producer. Events not acknowledged by then are produced again by the next
  // relay.
  virtual ~OutboxRelay() = default;

  // Waits until every event committed before the call is acknowledged by
  // Kafka and the cursor covering it is stored.
  // Errors: DEADLINE_EXCEEDED when `timeout` passes first (the message says
  // how far the cursor got and the last error, e.g. brokers down).
  virtual absl::Status Flush(absl::Duration timeout) = 0;

  virtual RelayStatus status() const = 0;

  // The topic this relay publishes to: "crm.<service>.events.v1".
  virtual const std::string& topic() const = 0;
};

// The name of the column family holding relays' cursors.
inline constexpr char kRelayColumnFamily[] = "bus_relay";

}  // namespace crm::bus
