// The consumer's engine, shared by the Kafka and the embedded bus: reads a
// MessageSource, skips copies, hands events to the handler with retries,
// parks streams behind dead letters, commits effects and offsets in one
// batch, and serves operators' re-drives. Internal to libs/bus.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/bus/consumer.h"
#include "crm/eventstore/event_store.h"
#include "kafka_client.h"
#include "message_source.h"

namespace crm::bus {

// INVALID_ARGUMENT naming the field when `options` are not usable.
absl::Status ValidateConsumerOptions(const ConsumerOptions& options);

// "crm.<service>.<purpose>".
std::string ConsumerGroup(const ConsumerOptions& options);

// Creates the source for the consumer (which is its listener).
using SourceFactory =
    std::function<absl::StatusOr<std::unique_ptr<MessageSource>>(
        SourceListener& listener)>;

// Starts a consumer. `dead_letter_config` (Kafka only) is the producer
// configuration for crm.<service>.dlq.v1; nullptr = no DLQ topic (embedded).
absl::StatusOr<std::unique_ptr<Consumer>> StartConsumerCore(
    eventstore::EventStore& store, EventHandler& handler,
    ConsumerOptions options, const SourceFactory& make_source,
    const KafkaConfig* dead_letter_config);

}  // namespace crm::bus
