// The one place librdkafka errors become absl::Status (STYLE.md: one adapter
// per third-party error space). Internal to libs/bus.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string_view>

#include "absl/status/status.h"

namespace crm::bus {

// `err` as a Status whose message names the librdkafka error, says what
// failed (`context`, e.g. "producing to crm.contact.events.v1") and what to
// do. Broker and network trouble is UNAVAILABLE, a full local queue
// RESOURCE_EXHAUSTED, bad configuration or a too large message
// INVALID_ARGUMENT, an unknown topic NOT_FOUND, refused authorization
// PERMISSION_DENIED, failed authentication UNAUTHENTICATED, a fatal producer
// error ABORTED (the producer must be recreated). NO_ERROR is OK.
absl::Status KafkaErrorToStatus(rd_kafka_resp_err_t err,
                                std::string_view context);

// The result of rd_kafka_conf_set for `property` as a Status:
// INVALID_ARGUMENT naming the property, with librdkafka's explanation.
absl::Status KafkaConfResultToStatus(rd_kafka_conf_res_t result,
                                     std::string_view property,
                                     std::string_view errstr);

}  // namespace crm::bus
