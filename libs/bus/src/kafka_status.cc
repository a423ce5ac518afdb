#include "kafka_status.h"

#include <string>

#include "fmt/format.h"

namespace crm::bus {
namespace {

struct Mapping {
  absl::StatusCode code;
  const char* advice;
};

Mapping MapError(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
      return {absl::StatusCode::kUnavailable,
              "check that the Kafka brokers in bootstrap.servers are up and "
              "reachable; the relay retries by itself"};
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return {absl::StatusCode::kResourceExhausted,
              "the producer's local queue is full; wait for deliveries or "
              "raise queue.buffering.max.messages"};
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return {absl::StatusCode::kInvalidArgument,
              "raise message.max.bytes in the producer config and the "
              "topic's max.message.bytes"};
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__INVALID_TYPE:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
      return {absl::StatusCode::kInvalidArgument,
              "fix the producer configuration"};
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return {absl::StatusCode::kNotFound,
              "create the topic (crm-dev-broker creates the suite's topics)"};
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
      return {absl::StatusCode::kPermissionDenied,
              "grant the producer's principal Write and IdempotentWrite on "
              "the topic and cluster"};
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
      return {absl::StatusCode::kUnauthenticated,
              "check the sasl.* / ssl.* settings in kafka_config"};
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
      return {absl::StatusCode::kAborted,
              "the idempotent producer must be recreated; the relay does so "
              "and resumes from its cursor"};
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
      return {absl::StatusCode::kCancelled,
              "the message was dropped on shutdown; it is produced again on "
              "the next start"};
    default:
      return {absl::StatusCode::kUnknown,
              "see librdkafka's error list; the relay retries"};
  }
}

}  // namespace

absl::Status KafkaErrorToStatus(rd_kafka_resp_err_t err,
                                std::string_view context) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  const Mapping mapping = MapError(err);
  return absl::Status(
      mapping.code,
      fmt::format("Kafka error {} ({}) {}: {}", rd_kafka_err2name(err),
                  rd_kafka_err2str(err), context, mapping.advice));
}

absl::Status KafkaConfResultToStatus(rd_kafka_conf_res_t result,
                                     std::string_view property,
                                     std::string_view errstr) {
  if (result == RD_KAFKA_CONF_OK) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format(
      "kafka_config property '{}' is {}: {}; see librdkafka's "
      "CONFIGURATION.md",
      property, result == RD_KAFKA_CONF_UNKNOWN ? "unknown" : "invalid",
      errstr));
}

}  // namespace crm::bus
