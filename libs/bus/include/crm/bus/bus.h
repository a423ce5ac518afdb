// Bus: how a service publishes its events and consumes other services'
// events, over Kafka or in one process (DESIGN.md §6).
//
//   std::unique_ptr<Bus> bus = config.kafka_bootstrap.empty()
//       ? NewEmbeddedBus()
//       : NewKafkaBus({{"bootstrap.servers", config.kafka_bootstrap}});
//   ASSIGN_OR_RETURN(auto publisher, bus->StartPublisher(*store, "contact"));
//   ASSIGN_OR_RETURN(auto consumer,
//                    bus->StartConsumer(*store, handler, consumer_options));
//
// Both implementations give the same guarantees to handlers (consumer.h):
// effects and offsets commit in one batch of the consuming store, copies are
// skipped, per-stream order holds, failing events are dead-lettered and
// their streams parked. They differ in transport only:
//  - Kafka: the publisher is the OutboxRelay (outbox_relay.h); consumers
//    join consumer groups; dead letters also go to crm.<service>.dlq.v1.
//  - Embedded: the publisher registers its store with the bus; consumers
//    read publishers' stores directly (one partition per source, offsets =
//    global positions); dead letters stay in the consuming store (ListParked
//    shows them). A consumer may start before the publisher it follows: it
//    waits for it. This is the default of the single-process suite.
//
// Thread safety: a Bus may be used from any thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/bus/consumer.h"
#include "crm/bus/outbox_relay.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/event_feed.h"

namespace crm::bus {

// A running publisher of one service's log.
class Publisher {
 public:
  // Stops publishing (Kafka: after up to the relay's shutdown_timeout).
  virtual ~Publisher() = default;

  // Waits until every event committed before the call is published.
  // Errors: DEADLINE_EXCEEDED when `timeout` passes first.
  virtual absl::Status Flush(absl::Duration timeout) = 0;

  // Progress (embedded: always caught up and connected).
  virtual RelayStatus status() const = 0;
};

class Bus {
 public:
  virtual ~Bus() = default;

  // Starts publishing `store`'s log as the events of `service`.
  // Errors: INVALID_ARGUMENT for a bad service name or Kafka configuration;
  // ALREADY_EXISTS (embedded) when `service` already has a publisher;
  // UNAVAILABLE when the store cannot be read or written.
  // REQUIRES: `store` outlives the publisher and, in embedded mode, every
  // consumer of this bus that follows `service`.
  virtual absl::StatusOr<std::unique_ptr<Publisher>> StartPublisher(
      eventstore::EventStore& store, std::string service) = 0;

  // Starts a consumer writing to `store` (see consumer.h).
  // Errors: INVALID_ARGUMENT for bad options (the message names the field);
  // UNAVAILABLE when the store cannot be read or written.
  // REQUIRES: `store` and `handler` outlive the consumer.
  virtual absl::StatusOr<std::unique_ptr<Consumer>> StartConsumer(
      eventstore::EventStore& store, EventHandler& handler,
      ConsumerOptions options) = 0;

  // The events `service` publishes, as a source for a ProjectionEngine
  // (Options::source) on the consuming store: Kafka, the topic
  // crm.<service>.events.v1 (topic_source.h); embedded, the log of the
  // store that publishes as `service` (LocalLogSource; opening a feed is
  // UNAVAILABLE, and retried by the engine, until its publisher started).
  // The two write different checkpoints: a projection fed one way must get
  // a new version to be fed the other way.
  // REQUIRES: the bus outlives the source.
  virtual std::shared_ptr<projection::EventSource> ProjectionSource(
      std::string service) = 0;

  // "kafka" or "embedded", for logs and status.
  virtual std::string_view kind() const = 0;
};

// A bus over the Kafka cluster `kafka_config` names (librdkafka properties;
// bootstrap.servers is required, security settings go here too). Producers
// and consumers get the same properties; see README.md for what each side
// sets and refuses. Nothing connects before StartPublisher/StartConsumer.
std::unique_ptr<Bus> NewKafkaBus(
    std::map<std::string, std::string> kafka_config);

// A bus inside this process. REQUIRES: it outlives its publishers and
// consumers.
std::unique_ptr<Bus> NewEmbeddedBus();

}  // namespace crm::bus
