// KafkaSource: a MessageSource over a Kafka consumer group. Offsets come
// from the consumer's store (SourceListener::StartOffset) on every
// assignment; Kafka's committed offsets are written for monitoring only.
// Internal to libs/bus.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kafka_client.h"
#include "message_source.h"

namespace crm::bus {

// Checks `config` for a consumer: bootstrap.servers present; group.id,
// enable.auto.commit and enable.auto.offset.store not set (the consumer
// sets them). Errors: INVALID_ARGUMENT naming the property.
absl::Status CheckConsumerConfig(const KafkaConfig& config);

// Joins `group` and subscribes to `topics`. Creating it does not wait for
// the broker. Errors: INVALID_ARGUMENT for a bad configuration.
// REQUIRES: `listener` outlives the source.
absl::StatusOr<std::unique_ptr<MessageSource>> NewKafkaSource(
    const KafkaConfig& config, const std::string& group,
    const std::vector<std::string>& topics, SourceListener& listener);

}  // namespace crm::bus
