// Metrics of the shared libraries' components, read at scrape time from their
// status APIs (DESIGN.md §10). Each function registers a ScrapeCallback
// (metrics.h) and returns its registration.
//
// REQUIRES for each: the component outlives the returned registration;
// destroy (or Reset) the registration first when shutting down.
//
// The metrics, all gauges unless named *_total (counters since the
// component started). The components each service owns (its store, its
// projections, its handler pool) are labelled {service}, so that several
// services in one process (crm-suite) give distinct series:
//
// Event store (EventStore::stats(), LastPosition()), labelled {service}:
//   crm_eventstore_appends_total                appends committed
//   crm_eventstore_appended_events_total        events committed
//   crm_eventstore_appended_bytes_total         encoded bytes committed
//   crm_eventstore_conflicts_total              appends refused: stale
//                                               expected version
//   crm_eventstore_deduplicated_appends_total   retries answered from a
//                                               stored request_id
//   crm_eventstore_syncs_total                  synced writes (group commits)
//   crm_eventstore_sync_seconds_total           time spent in synced writes;
//                                               rate(sync_seconds) /
//                                               rate(syncs) = mean latency
//   crm_eventstore_last_position                the log's last global position
//
// Publisher or outbox relay (Publisher::status(), OutboxRelay::status()),
// labelled {topic}:
//   crm_relay_lag_events                        committed, not yet acked
//   crm_relay_cursor_position                   last position acked by Kafka
//   crm_relay_connected                         1 when a broker acked lately
//   crm_relay_state{state}                      1 for the current state
//                                               (producing, disconnected,
//                                               failed), 0 for the others
//   crm_relay_producer_resets_total             producers recreated after
//                                               fatal errors
//
// Projections (ProjectionEngine::Status()), labelled {service,projection}:
//   crm_projection_lag_events                   log position - applied position
//   crm_projection_position                     position the target version
//                                               has applied
//   crm_projection_serving_version              version serving reads (0: none)
//   crm_projection_rebuilding                   1 while a new version builds
//   crm_projection_state{state}                 1 for the current state
//                                               (building, catching_up, live,
//                                               failed), 0 for the others
//
// Consumer (Consumer::status()), labelled {group}:
//   crm_consumer_lag_messages{topic,partition}  messages of an assigned
//                                               partition not yet handled
//   crm_consumer_handled_events_total           events handled
//   crm_consumer_duplicates_skipped_total       copies skipped (by event_id)
//   crm_consumer_dead_lettered_events_total     events dead-lettered (DLQ)
//   crm_consumer_parked_streams                 streams waiting behind a
//                                               dead letter
//   crm_consumer_dead_letters_unpublished       dead letters not yet on the
//                                               DLQ topic
//   crm_consumer_state{state}                   1 for the current state
//                                               (starting, consuming, failed)
//
// Request handler pool (HandlerPool::stats()), labelled {service}:
//   crm_handler_threads                         threads of the pool
//   crm_handler_busy_threads                    threads running a handler
//   crm_handler_queued_calls                    calls waiting for a thread
//   crm_handler_calls_total                     calls handled
//   crm_handler_refused_calls_total             calls refused with
//                                               RESOURCE_EXHAUSTED (queue full)
#pragma once

#include <string_view>

#include "crm/server/metrics.h"

namespace crm::eventstore {
class EventStore;
}
namespace crm::bus {
class Consumer;
class OutboxRelay;
class Publisher;
}  // namespace crm::bus
namespace crm::projection {
class ProjectionEngine;
}

namespace crm::server {

class HandlerPool;

// `service` names the service that owns the component ("contact"): the
// value of the {service} label.
MetricsRegistration RegisterEventStoreMetrics(
    MetricsEndpoint& metrics, const eventstore::EventStore& store,
    std::string_view service);

MetricsRegistration RegisterRelayMetrics(MetricsEndpoint& metrics,
                                         const bus::OutboxRelay& relay);

// `service` is the publishing service: the label is its topic,
// "crm.<service>.events.v1".
MetricsRegistration RegisterPublisherMetrics(MetricsEndpoint& metrics,
                                             const bus::Publisher& publisher,
                                             std::string_view service);

// `group` names the consumer: "crm.<service>.<purpose>" (its consumer group).
MetricsRegistration RegisterConsumerMetrics(MetricsEndpoint& metrics,
                                            const bus::Consumer& consumer,
                                            std::string_view group);

MetricsRegistration RegisterProjectionMetrics(
    MetricsEndpoint& metrics, const projection::ProjectionEngine& engine,
    std::string_view service);

MetricsRegistration RegisterHandlerPoolMetrics(MetricsEndpoint& metrics,
                                               const HandlerPool& pool,
                                               std::string_view service);

}  // namespace crm::server
