// The relay's librdkafka producer: configuration checks and creation.
// Internal to libs/bus.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kafka_client.h"

namespace crm::bus {

using ProducerPtr = KafkaClientPtr;

// Callbacks served by rd_kafka_poll / rd_kafka_flush on the calling thread,
// each given `opaque`.
struct ProducerCallbacks {
  void* opaque = nullptr;
  void (*on_delivery)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr;
  void (*on_error)(rd_kafka_t*, int, const char*, void*) = nullptr;
};

// Checks `config` (RelayOptions::kafka_config) without connecting:
// bootstrap.servers present, no override of the idempotence settings.
// Errors: INVALID_ARGUMENT naming the property.
absl::Status CheckProducerConfig(
    const std::map<std::string, std::string>& config);

// An idempotent producer (enable.idempotence=true, acks=all, at most 5
// requests in flight per connection) with `config` on top of the relay's
// defaults. Creating it does not connect.
// Errors: INVALID_ARGUMENT for an unknown or invalid property.
absl::StatusOr<ProducerPtr> NewIdempotentProducer(
    const std::map<std::string, std::string>& config,
    const ProducerCallbacks& callbacks);

// Asks the cluster for `topic`'s partitions now, waiting up to `timeout`.
// Without it librdkafka 2.0.2 often learns them only at its one-second
// topic scan, and the first messages produced to a new producer wait that
// long. Best effort: when Kafka cannot be reached in time, nothing changes.
void RequestTopicMetadata(rd_kafka_t* producer, const std::string& topic,
                          absl::Duration timeout);

struct MessageHeader {
  const char* name;
  std::string_view value;
};

// Produces one message to `topic` (key, value and headers are copied), with
// `opaque` handed to the delivery callback. At most 8 headers
// (_INVALID_ARG otherwise).
// Uses rd_kafka_produceva: the RD_KAFKA_V_* macros of rd_kafka_producev are
// GNU statement expressions, refused by clang with -Wpedantic -Werror.
rd_kafka_resp_err_t ProduceMessage(rd_kafka_t* producer,
                                   const std::string& topic,
                                   std::string_view key, std::string_view value,
                                   std::span<const MessageHeader> headers,
                                   void* opaque);

// An event: headers `event_id` and `type` (docs/kafka-message.md).
rd_kafka_resp_err_t ProduceEvent(rd_kafka_t* producer, const std::string& topic,
                                 std::string_view key, std::string_view value,
                                 std::string_view event_id,
                                 std::string_view type, void* opaque);

}  // namespace crm::bus
