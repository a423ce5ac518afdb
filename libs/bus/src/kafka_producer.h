// The relay's librdkafka producer: configuration checks and creation.
// Internal to libs/bus.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace crm::bus {

struct ProducerDeleter {
  void operator()(rd_kafka_t* producer) const { rd_kafka_destroy(producer); }
};
using ProducerPtr = std::unique_ptr<rd_kafka_t, ProducerDeleter>;

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

// Produces one message to `topic` (the payload is copied), with headers
// `event_id` and `type`, and `opaque` handed to the delivery callback.
// Uses rd_kafka_produceva: the RD_KAFKA_V_* macros of rd_kafka_producev are
// GNU statement expressions, refused by clang with -Wpedantic -Werror.
rd_kafka_resp_err_t ProduceEvent(rd_kafka_t* producer, const std::string& topic,
                                 std::string_view key, std::string_view value,
                                 std::string_view event_id,
                                 std::string_view type, void* opaque);

}  // namespace crm::bus
