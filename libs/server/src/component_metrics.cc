#include "crm/server/component_metrics.h"

#include <string>
#include <string_view>

#include "crm/bus/bus.h"
#include "crm/bus/consumer.h"
#include "crm/bus/outbox_relay.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/projection.h"
#include "crm/server/handler_pool.h"

namespace crm::server {
namespace {

// Writes one 0/1 gauge per possible state, 1 for `current`: the
// Prometheus way to expose an enum (alert on state="failed" == 1).
template <typename State, size_t N>
void WriteStateGauges(ScrapeWriter& out, std::string_view name,
                      std::string_view help, const State (&states)[N],
                      State current, std::string_view (*state_name)(State),
                      const MetricLabels& labels) {
  for (State state : states) {
    MetricLabels with_state = labels;
    with_state.emplace_back("state", std::string(state_name(state)));
    out.Gauge(name, help, state == current ? 1 : 0, with_state);
  }
}

std::string_view RelayStateName(bus::RelayStatus::State state) {
  switch (state) {
    case bus::RelayStatus::State::kProducing:
      return "producing";
    case bus::RelayStatus::State::kDisconnected:
      return "disconnected";
    case bus::RelayStatus::State::kFailed:
      return "failed";
  }
  return "unknown";
}

constexpr bus::RelayStatus::State kRelayStates[] = {
    bus::RelayStatus::State::kProducing, bus::RelayStatus::State::kDisconnected,
    bus::RelayStatus::State::kFailed};

constexpr bus::ConsumerStatus::State kConsumerStates[] = {
    bus::ConsumerStatus::State::kStarting,
    bus::ConsumerStatus::State::kConsuming,
    bus::ConsumerStatus::State::kFailed};

void WriteRelayStatus(ScrapeWriter& out, const bus::RelayStatus& status,
                      const std::string& topic) {
  const MetricLabels labels = {{"topic", topic}};
  out.Gauge("crm_relay_lag_events",
            "Committed events Kafka has not acknowledged yet.",
            static_cast<double>(status.lag), labels);
  out.Gauge("crm_relay_cursor_position",
            "Last global position Kafka acknowledged (stored cursor).",
            static_cast<double>(status.cursor), labels);
  out.Gauge("crm_relay_connected",
            "1 when a broker acknowledged a delivery lately.",
            status.connected ? 1 : 0, labels);
  WriteStateGauges(out, "crm_relay_state", "1 for the relay's current state.",
                   kRelayStates, status.state, &RelayStateName, labels);
  out.Counter("crm_relay_producer_resets_total",
              "Kafka producers recreated after fatal errors.",
              static_cast<double>(status.producer_resets), labels);
}

constexpr projection::ProjectionState kProjectionStates[] = {
    projection::ProjectionState::kBuilding,
    projection::ProjectionState::kCatchingUp,
    projection::ProjectionState::kLive, projection::ProjectionState::kFailed};

}  // namespace

MetricsRegistration RegisterEventStoreMetrics(
    MetricsEndpoint& metrics, const eventstore::EventStore& store,
    std::string_view service) {
  const MetricLabels labels = {{"service", std::string(service)}};
  return metrics.AddScrapeCallback([&store, labels](ScrapeWriter& out) {
    const eventstore::EventStoreStats stats = store.stats();
    const struct {
      const char* name;
      const char* help;
      double value;
    } counters[] = {
        {"crm_eventstore_appends_total",
         "Appends committed (deduplicated retries excluded).",
         static_cast<double>(stats.appends)},
        {"crm_eventstore_appended_events_total", "Events committed.",
         static_cast<double>(stats.events)},
        {"crm_eventstore_appended_bytes_total",
         "Encoded bytes of the events committed.",
         static_cast<double>(stats.bytes)},
        {"crm_eventstore_conflicts_total",
         "Appends refused for a stale expected version.",
         static_cast<double>(stats.conflicts)},
        {"crm_eventstore_deduplicated_appends_total",
         "Appends answered from a stored request_id.",
         static_cast<double>(stats.deduplicated)},
        {"crm_eventstore_syncs_total",
         "Synced writes of the log (group commits).",
         static_cast<double>(stats.commit_groups)},
        {"crm_eventstore_sync_seconds_total",
         "Time spent in synced writes of the log.",
         static_cast<double>(stats.sync_micros) / 1e6},
    };
    for (const auto& counter : counters) {
      out.Counter(counter.name, counter.help, counter.value, labels);
    }
    out.Gauge("crm_eventstore_last_position",
              "Global position of the last committed event.",
              static_cast<double>(store.LastPosition()), labels);
  });
}

MetricsRegistration RegisterRelayMetrics(MetricsEndpoint& metrics,
                                         const bus::OutboxRelay& relay) {
  return metrics.AddScrapeCallback([&relay](ScrapeWriter& out) {
    WriteRelayStatus(out, relay.status(), relay.topic());
  });
}

MetricsRegistration RegisterPublisherMetrics(MetricsEndpoint& metrics,
                                             const bus::Publisher& publisher,
                                             std::string_view service) {
  return metrics.AddScrapeCallback(
      [&publisher, topic = "crm." + std::string(service) +
                           ".events.v1"](ScrapeWriter& out) {
        WriteRelayStatus(out, publisher.status(), topic);
      });
}

MetricsRegistration RegisterConsumerMetrics(MetricsEndpoint& metrics,
                                            const bus::Consumer& consumer,
                                            std::string_view group) {
  return metrics.AddScrapeCallback(
      [&consumer, group = std::string(group)](ScrapeWriter& out) {
        const bus::ConsumerStatus status = consumer.status();
        const MetricLabels labels = {{"group", group}};
        for (const bus::PartitionLag& partition : status.partitions) {
          out.Gauge("crm_consumer_lag_messages",
                    "Messages of an assigned partition not handled yet.",
                    static_cast<double>(partition.lag),
                    {{"group", group},
                     {"topic", partition.topic},
                     {"partition", std::to_string(partition.partition)}});
        }
        out.Counter("crm_consumer_handled_events_total", "Events handled.",
                    static_cast<double>(status.handled), labels);
        out.Counter("crm_consumer_duplicates_skipped_total",
                    "Copies of handled events skipped (by event_id).",
                    static_cast<double>(status.duplicates_skipped), labels);
        out.Counter("crm_consumer_dead_lettered_events_total",
                    "Events that failed every attempt and were dead-lettered.",
                    static_cast<double>(status.dead_lettered), labels);
        out.Gauge("crm_consumer_parked_streams",
                  "Streams whose events wait behind a dead letter.",
                  static_cast<double>(status.parked_streams), labels);
        out.Gauge("crm_consumer_dead_letters_unpublished",
                  "Dead letters not yet written to the DLQ topic.",
                  static_cast<double>(status.dead_letters_unpublished), labels);
        WriteStateGauges(out, "crm_consumer_state",
                         "1 for the consumer's current state.", kConsumerStates,
                         status.state, &bus::ConsumerStateName, labels);
      });
}

MetricsRegistration RegisterProjectionMetrics(
    MetricsEndpoint& metrics, const projection::ProjectionEngine& engine,
    std::string_view service) {
  return metrics.AddScrapeCallback(
      [&engine, service = std::string(service)](ScrapeWriter& out) {
        for (const projection::ProjectionStatus& status : engine.Status()) {
          const MetricLabels labels = {{"service", service},
                                       {"projection", status.name}};
          out.Gauge("crm_projection_lag_events",
                    "Events of the log the projection has not applied yet.",
                    static_cast<double>(status.lag), labels);
          out.Gauge("crm_projection_position",
                    "Global position the projection's target version applied.",
                    static_cast<double>(status.target_position), labels);
          out.Gauge("crm_projection_serving_version",
                    "Version serving reads (0 while none is built).",
                    status.serving_version, labels);
          out.Gauge("crm_projection_rebuilding",
                    "1 while a new version builds beside the serving one.",
                    status.rebuilding ? 1 : 0, labels);
          WriteStateGauges(out, "crm_projection_state",
                           "1 for the projection's current state.",
                           kProjectionStates, status.state,
                           &projection::ProjectionStateName, labels);
        }
      });
}

MetricsRegistration RegisterHandlerPoolMetrics(MetricsEndpoint& metrics,
                                               const HandlerPool& pool,
                                               std::string_view service) {
  const MetricLabels labels = {{"service", std::string(service)}};
  return metrics.AddScrapeCallback([&pool, labels](ScrapeWriter& out) {
    const HandlerPool::Stats stats = pool.stats();
    out.Gauge("crm_handler_threads", "Threads of the request handler pool.",
              static_cast<double>(stats.threads), labels);
    out.Gauge("crm_handler_busy_threads",
              "Handler threads running a request now.",
              static_cast<double>(stats.busy), labels);
    out.Gauge("crm_handler_queued_calls",
              "Requests waiting for a handler thread.",
              static_cast<double>(stats.queued), labels);
    out.Counter("crm_handler_calls_total", "Requests the handler pool ran.",
                static_cast<double>(stats.run), labels);
    out.Counter("crm_handler_refused_calls_total",
                "Requests refused with RESOURCE_EXHAUSTED: every handler "
                "thread busy and the queue full.",
                static_cast<double>(stats.refused), labels);
  });
}

}  // namespace crm::server
