#include "kafka_client.h"

#include <utility>

#include "fmt/format.h"
#include "kafka_status.h"

namespace crm::bus {

absl::Status CheckBootstrapServers(const KafkaConfig& config) {
  auto bootstrap = config.find("bootstrap.servers");
  if (bootstrap == config.end() || bootstrap->second.empty()) {
    return absl::InvalidArgumentError(
        "kafka_config has no bootstrap.servers; set it to the Kafka cluster's "
        "host:port list (crm-dev-broker prints one for local runs)");
  }
  return absl::OkStatus();
}

absl::StatusOr<KafkaConfPtr> NewKafkaConf(
    std::initializer_list<const KafkaConfig*> layers) {
  KafkaConfPtr conf(rd_kafka_conf_new());
  for (const KafkaConfig* layer : layers) {
    for (const auto& [property, value] : *layer) {
      char errstr[512] = {0};
      absl::Status status = KafkaConfResultToStatus(
          rd_kafka_conf_set(conf.get(), property.c_str(), value.c_str(), errstr,
                            sizeof(errstr)),
          property, errstr);
      if (!status.ok()) return status;
    }
  }
  return conf;
}

absl::StatusOr<KafkaClientPtr> NewKafkaClient(rd_kafka_type_t type,
                                              KafkaConfPtr conf,
                                              std::string_view what) {
  char errstr[512] = {0};
  // On success rd_kafka_new owns conf; on failure it is still ours.
  rd_kafka_t* client = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (client == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("cannot create {}: {}; fix kafka_config", what, errstr));
  }
  (void)conf.release();
  return KafkaClientPtr(client);
}

}  // namespace crm::bus
