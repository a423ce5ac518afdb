#include "kafka_producer.h"

#include <utility>

#include "crm/base/status_macros.h"
#include "fmt/format.h"
#include "kafka_status.h"

namespace crm::bus {
namespace {

// Defaults the caller's config may override.
const std::map<std::string, std::string>& Defaults() {
  static const auto* const kDefaults = new std::map<std::string, std::string>{
      // Never drop a message for taking long: while Kafka is down the
      // producer keeps retrying, and the relay stops reading when
      // max_in_flight messages wait.
      {"message.timeout.ms", "0"},
      {"linger.ms", "5"},
      // The Java client's partitioner, so every client maps a key alike.
      {"partitioner", "murmur2_random"},
      {"reconnect.backoff.max.ms", "1000"},
      // One produce request in flight per broker connection. Kafka allows 5
      // with idempotence, and librdkafka then treats a later batch's success
      // as proof that an earlier batch which failed with a "possibly
      // persisted" error (REQUEST_TIMED_OUT) was stored ("implicitly acked").
      // That is sound only if the broker enforces sequence order; librdkafka
      // 2.0.2's mock cluster does not, and losing an event silently is the
      // one thing the relay must not do. Raise it (up to 5) for a real
      // cluster when throughput matters.
      {"max.in.flight.requests.per.connection", "1"},
  };
  return *kDefaults;
}

// Settings the relay's guarantees rest on.
const std::map<std::string, std::string>& Forced() {
  static const auto* const kForced = new std::map<std::string, std::string>{
      {"enable.idempotence", "true"},
      {"acks", "all"},
  };
  return *kForced;
}

bool AllowedOverride(const std::string& property, const std::string& value) {
  if (property == "acks") return value == "all" || value == "-1";
  if (property == "enable.idempotence") return value == "true";
  if (property == "max.in.flight.requests.per.connection") {
    return value == "1" || value == "2" || value == "3" || value == "4" ||
           value == "5";
  }
  return true;
}

absl::Status Set(rd_kafka_conf_t* conf, const std::string& property,
                 const std::string& value) {
  char errstr[512] = {0};
  return KafkaConfResultToStatus(
      rd_kafka_conf_set(conf, property.c_str(), value.c_str(), errstr,
                        sizeof(errstr)),
      property, errstr);
}

}  // namespace

absl::Status CheckProducerConfig(
    const std::map<std::string, std::string>& config) {
  auto bootstrap = config.find("bootstrap.servers");
  if (bootstrap == config.end() || bootstrap->second.empty()) {
    return absl::InvalidArgumentError(
        "kafka_config has no bootstrap.servers; set it to the Kafka cluster's "
        "host:port list (crm-dev-broker prints one for local runs)");
  }
  for (const auto& [property, value] : config) {
    if (!AllowedOverride(property, value)) {
      return absl::InvalidArgumentError(fmt::format(
          "kafka_config sets {}={}, which would break the relay's delivery "
          "guarantees; remove it (the relay uses enable.idempotence=true, "
          "acks=all, max.in.flight.requests.per.connection<=5)",
          property, value));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ProducerPtr> NewIdempotentProducer(
    const std::map<std::string, std::string>& config,
    const ProducerCallbacks& callbacks) {
  RETURN_IF_ERROR(CheckProducerConfig(config));
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  absl::Status status = absl::OkStatus();
  for (const auto& [property, value] : Defaults()) {
    if (status.ok()) status = Set(conf, property, value);
  }
  for (const auto& [property, value] : Forced()) {
    if (status.ok()) status = Set(conf, property, value);
  }
  for (const auto& [property, value] : config) {
    if (status.ok()) status = Set(conf, property, value);
  }
  if (!status.ok()) {
    rd_kafka_conf_destroy(conf);
    return status;
  }
  rd_kafka_conf_set_opaque(conf, callbacks.opaque);
  if (callbacks.on_delivery != nullptr) {
    rd_kafka_conf_set_dr_msg_cb(conf, callbacks.on_delivery);
  }
  if (callbacks.on_error != nullptr) {
    rd_kafka_conf_set_error_cb(conf, callbacks.on_error);
  }
  char errstr[512] = {0};
  // On success rd_kafka_new owns conf; on failure it is still ours.
  rd_kafka_t* producer =
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (producer == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(fmt::format(
        "cannot create the Kafka producer: {}; fix kafka_config", errstr));
  }
  return ProducerPtr(producer);
}

rd_kafka_resp_err_t ProduceEvent(rd_kafka_t* producer, const std::string& topic,
                                 std::string_view key, std::string_view value,
                                 std::string_view event_id,
                                 std::string_view type, void* opaque) {
  rd_kafka_vu_t fields[7] = {};
  fields[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  fields[0].u.cstr = topic.c_str();
  fields[1].vtype = RD_KAFKA_VTYPE_KEY;
  fields[1].u.mem = {const_cast<char*>(key.data()), key.size()};
  fields[2].vtype = RD_KAFKA_VTYPE_VALUE;
  fields[2].u.mem = {const_cast<char*>(value.data()), value.size()};
  fields[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  fields[3].u.i = RD_KAFKA_MSG_F_COPY;
  fields[4].vtype = RD_KAFKA_VTYPE_HEADER;
  fields[4].u.header = {"event_id", event_id.data(),
                        static_cast<ssize_t>(event_id.size())};
  fields[5].vtype = RD_KAFKA_VTYPE_HEADER;
  fields[5].u.header = {"type", type.data(), static_cast<ssize_t>(type.size())};
  fields[6].vtype = RD_KAFKA_VTYPE_OPAQUE;
  fields[6].u.ptr = opaque;
  rd_kafka_error_t* error = rd_kafka_produceva(producer, fields, 7);
  if (error == nullptr) return RD_KAFKA_RESP_ERR_NO_ERROR;
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  return code;
}

}  // namespace crm::bus
