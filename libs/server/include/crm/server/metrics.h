// MetricsEndpoint: the process's Prometheus metrics, served over HTTP at
// /metrics on their own port (DESIGN.md §10).
//
// Two kinds of metrics feed it:
//  - Metrics the code updates as things happen (counters, histograms), kept
//    in registry() with prometheus-cpp's API. The gRPC server's per-method
//    metrics are these (ServiceHost registers them).
//  - Metrics read from a component at scrape time: a ScrapeCallback, added
//    with AddScrapeCallback, reads the component's status and writes
//    samples. component_metrics.h has those of the event store, the outbox
//    relay and the projection engine; adding one for a new component is one
//    small function:
//
//   MetricsRegistration RegisterQueueMetrics(MetricsEndpoint& metrics,
//                                            const Queue& queue) {
//     return metrics.AddScrapeCallback([&queue](ScrapeWriter& out) {
//       for (const auto& partition : queue.status().partitions) {
//         out.Gauge("crm_queue_lag_messages", "Messages not yet handled.",
//                   partition.lag, {{"partition", partition.name}});
//       }
//     });
//   }
//
// Names follow Prometheus conventions: the "crm_" prefix, base units
// (seconds, bytes) in the name, "_total" on counters. Label values must
// come from a bounded set (method names, projection names; never ids).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/server/config.h"

namespace prometheus {
class Exposer;
class Registry;
struct MetricFamily;
}  // namespace prometheus

namespace crm::server {

class ScrapeCollector;

// Label names and values of one sample, e.g. {{"projection", "by_email"}}.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Receives the samples of one scrape from a ScrapeCallback. Samples with the
// same name form one family; its help text and type are those of the first
// sample. Not thread-safe; valid only during the callback.
class ScrapeWriter {
 public:
  // A value that goes up and down (a lag, a position, a state as 0/1).
  void Gauge(std::string_view name, std::string_view help, double value,
             const MetricLabels& labels = {});
  // A value that only goes up since the process started; `name` ends in
  // "_total".
  void Counter(std::string_view name, std::string_view help, double value,
               const MetricLabels& labels = {});

  explicit ScrapeWriter(std::vector<prometheus::MetricFamily>& families)
      : families_(families) {}

 private:
  void Add(std::string_view name, std::string_view help, bool counter,
           double value, const MetricLabels& labels);

  std::vector<prometheus::MetricFamily>& families_;
};

// Reads a component's state and writes its samples. Runs on the HTTP
// server's thread during a scrape. REQUIRES: quick and non-blocking (it runs
// under a reader lock that unregistering waits for); it must not add or
// remove scrape callbacks.
using ScrapeCallback = std::function<void(ScrapeWriter&)>;

// Keeps a ScrapeCallback registered; destroying (or Reset) unregisters it
// and waits for a scrape running it to finish, so that the component it
// reads can then be destroyed. Move-only.
class MetricsRegistration {
 public:
  MetricsRegistration() = default;
  MetricsRegistration(MetricsRegistration&& other) noexcept;
  MetricsRegistration& operator=(MetricsRegistration&& other) noexcept;
  ~MetricsRegistration() { Reset(); }

  void Reset();
  bool active() const { return collector_ != nullptr; }

 private:
  friend class MetricsEndpoint;
  MetricsRegistration(std::shared_ptr<ScrapeCollector> collector, uint64_t id)
      : collector_(std::move(collector)), id_(id) {}

  std::shared_ptr<ScrapeCollector> collector_;
  uint64_t id_ = 0;
};

class MetricsEndpoint {
 public:
  // Serves /metrics on `listen` (port 0: a free port, see address()).
  // Errors: UNAVAILABLE when the address cannot be bound (in use, not an
  // address of this machine), with the address in the message.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const HostPort& listen);

  // Stops the HTTP server (waiting for a scrape in progress) first.
  ~MetricsEndpoint();

  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // The bound address: listen's host and the actual port.
  const HostPort& address() const { return address_; }

  // For metrics the code updates as things happen. Families added here
  // live as long as the endpoint.
  prometheus::Registry& registry() { return *registry_; }

  // Registers `callback`, run at every scrape until the returned
  // registration is destroyed.
  MetricsRegistration AddScrapeCallback(ScrapeCallback callback);

  // The text a GET /metrics returns now (Prometheus text format 0.0.4).
  std::string Render() const;

 private:
  MetricsEndpoint() = default;

  HostPort address_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ScrapeCollector> collector_;
  // Declared last: destroyed first, so no scrape runs during teardown.
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace crm::server
