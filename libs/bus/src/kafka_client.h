// Creating librdkafka clients from layered property maps. Internal to
// libs/bus: the producer (kafka_producer.h) and the consumer
// (kafka_consumer.h) build on it.
#pragma once

#include <librdkafka/rdkafka.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace crm::bus {

using KafkaConfig = std::map<std::string, std::string>;

struct KafkaClientDeleter {
  void operator()(rd_kafka_t* client) const { rd_kafka_destroy(client); }
};
using KafkaClientPtr = std::unique_ptr<rd_kafka_t, KafkaClientDeleter>;

struct KafkaConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using KafkaConfPtr = std::unique_ptr<rd_kafka_conf_t, KafkaConfDeleter>;

// INVALID_ARGUMENT unless `config` names a non-empty bootstrap.servers.
absl::Status CheckBootstrapServers(const KafkaConfig& config);

// A configuration with every property of `layers`, later layers winning.
// Errors: INVALID_ARGUMENT naming an unknown property or a bad value.
absl::StatusOr<KafkaConfPtr> NewKafkaConf(
    std::initializer_list<const KafkaConfig*> layers);

// A client of `type` from `conf` (consumed). Creating it does not connect.
// `what` names the client in the error ("the Kafka producer").
// Errors: INVALID_ARGUMENT when librdkafka refuses the configuration.
absl::StatusOr<KafkaClientPtr> NewKafkaClient(rd_kafka_type_t type,
                                              KafkaConfPtr conf,
                                              std::string_view what);

}  // namespace crm::bus
