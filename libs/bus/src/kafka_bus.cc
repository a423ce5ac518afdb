// The Kafka bus: publishers are outbox relays, consumers join groups.
#include <utility>

#include "consumer_core.h"
#include "crm/base/status_macros.h"
#include "crm/bus/bus.h"
#include "crm/bus/topic_source.h"
#include "fmt/format.h"
#include "kafka_source.h"

namespace crm::bus {
namespace {

class RelayPublisher final : public Publisher {
 public:
  explicit RelayPublisher(std::unique_ptr<OutboxRelay> relay)
      : relay_(std::move(relay)) {}
  absl::Status Flush(absl::Duration timeout) override {
    return relay_->Flush(timeout);
  }
  RelayStatus status() const override { return relay_->status(); }

 private:
  std::unique_ptr<OutboxRelay> relay_;
};

class KafkaBus final : public Bus {
 public:
  explicit KafkaBus(KafkaConfig config) : config_(std::move(config)) {}

  absl::StatusOr<std::unique_ptr<Publisher>> StartPublisher(
      eventstore::EventStore& store, std::string service) override {
    RelayOptions options;
    options.service = std::move(service);
    options.kafka_config = config_;
    ASSIGN_OR_RETURN(std::unique_ptr<OutboxRelay> relay,
                     OutboxRelay::Start(store, std::move(options)));
    return std::make_unique<RelayPublisher>(std::move(relay));
  }

  absl::StatusOr<std::unique_ptr<Consumer>> StartConsumer(
      eventstore::EventStore& store, EventHandler& handler,
      ConsumerOptions options) override {
    RETURN_IF_ERROR(ValidateConsumerOptions(options));
    RETURN_IF_ERROR(CheckConsumerConfig(config_));
    std::vector<std::string> topics;
    for (const std::string& source : options.sources) {
      topics.push_back(fmt::format("crm.{}.events.v1", source));
    }
    const std::string group = ConsumerGroup(options);
    const KafkaConfig& config = config_;
    return StartConsumerCore(
        store, handler, std::move(options),
        [&](SourceListener& listener) {
          return NewKafkaSource(config, group, topics, listener);
        },
        &config_);
  }

  std::shared_ptr<projection::EventSource> ProjectionSource(
      std::string service) override {
    return NewKafkaTopicSource(config_, std::move(service));
  }

  std::string_view kind() const override { return "kafka"; }

 private:
  const KafkaConfig config_;
};

}  // namespace

std::unique_ptr<Bus> NewKafkaBus(KafkaConfig kafka_config) {
  return std::make_unique<KafkaBus>(std::move(kafka_config));
}

}  // namespace crm::bus
