#include "crm/server/metrics.h"

#include <cassert>
#include <exception>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "prometheus/check_names.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace crm::server {

// The ScrapeCallbacks of one endpoint, run at every scrape.
class ScrapeCollector final : public prometheus::Collectable {
 public:
  uint64_t Add(ScrapeCallback callback) {
    absl::MutexLock lock(&mutex_);
    const uint64_t id = next_id_++;
    callbacks_.emplace(id, std::move(callback));
    return id;
  }

  // Waits for a scrape running the callbacks to finish (writer lock).
  void Remove(uint64_t id) {
    absl::MutexLock lock(&mutex_);
    callbacks_.erase(id);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    ScrapeWriter writer(families);
    absl::ReaderMutexLock lock(&mutex_);
    for (const auto& [id, callback] : callbacks_) callback(writer);
    return families;
  }

 private:
  mutable absl::Mutex mutex_;
  std::map<uint64_t, ScrapeCallback> callbacks_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 1;
};

void ScrapeWriter::Gauge(std::string_view name, std::string_view help,
                         double value, const MetricLabels& labels) {
  Add(name, help, /*counter=*/false, value, labels);
}

void ScrapeWriter::Counter(std::string_view name, std::string_view help,
                           double value, const MetricLabels& labels) {
  Add(name, help, /*counter=*/true, value, labels);
}

void ScrapeWriter::Add(std::string_view name, std::string_view help,
                       bool counter, double value, const MetricLabels& labels) {
  const prometheus::MetricType type =
      counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
  prometheus::MetricFamily* family = nullptr;
  for (prometheus::MetricFamily& existing : families_) {
    if (existing.name == name) family = &existing;
  }
  if (family == nullptr) {
    if (!prometheus::CheckMetricName(std::string(name))) {
      assert(false && "invalid metric name");
      return;
    }
    family = &families_.emplace_back();
    family->name = std::string(name);
    family->help = std::string(help);
    family->type = type;
  }
  if (family->type != type) {
    assert(false && "metric family written with two types");
    return;
  }
  prometheus::ClientMetric& sample = family->metric.emplace_back();
  for (const auto& [label, label_value] : labels) {
    assert(prometheus::CheckLabelName(label));
    sample.label.push_back({label, label_value});
  }
  if (counter) {
    sample.counter.value = value;
  } else {
    sample.gauge.value = value;
  }
}

MetricsRegistration::MetricsRegistration(MetricsRegistration&& other) noexcept
    : collector_(std::move(other.collector_)), id_(other.id_) {
  other.collector_ = nullptr;
}

MetricsRegistration& MetricsRegistration::operator=(
    MetricsRegistration&& other) noexcept {
  if (this != &other) {
    Reset();
    collector_ = std::move(other.collector_);
    id_ = other.id_;
    other.collector_ = nullptr;
  }
  return *this;
}

void MetricsRegistration::Reset() {
  if (collector_ != nullptr) collector_->Remove(id_);
  collector_ = nullptr;
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const HostPort& listen) {
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->registry_ = std::make_shared<prometheus::Registry>();
  endpoint->collector_ = std::make_shared<ScrapeCollector>();
  try {
    endpoint->exposer_ = std::make_unique<prometheus::Exposer>(
        listen.ToString(), /*num_threads=*/2);
  } catch (const std::exception& error) {
    return absl::UnavailableError(fmt::format(
        "cannot serve metrics on {}: {}; give a free port of this machine "
        "(--metrics-listen)",
        listen.ToString(), error.what()));
  }
  const std::vector<int> ports = endpoint->exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(
        fmt::format("the metrics server on {} reports no listening port",
                    listen.ToString()));
  }
  endpoint->address_ = HostPort{listen.host, ports.front()};
  endpoint->exposer_->RegisterCollectable(endpoint->registry_);
  endpoint->exposer_->RegisterCollectable(endpoint->collector_);
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() { exposer_.reset(); }

MetricsRegistration MetricsEndpoint::AddScrapeCallback(
    ScrapeCallback callback) {
  const uint64_t id = collector_->Add(std::move(callback));
  return MetricsRegistration(collector_, id);
}

std::string MetricsEndpoint::Render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<prometheus::MetricFamily> scraped = collector_->Collect();
  families.insert(families.end(), std::make_move_iterator(scraped.begin()),
                  std::make_move_iterator(scraped.end()));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace crm::server
