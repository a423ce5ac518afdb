#include "kafka_producer.h"

#include <array>
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

}  // namespace

absl::Status CheckProducerConfig(
    const std::map<std::string, std::string>& config) {
  RETURN_IF_ERROR(CheckBootstrapServers(config));
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
  ASSIGN_OR_RETURN(KafkaConfPtr conf,
                   NewKafkaConf({&Defaults(), &Forced(), &config}));
  rd_kafka_conf_set_opaque(conf.get(), callbacks.opaque);
  if (callbacks.on_delivery != nullptr) {
    rd_kafka_conf_set_dr_msg_cb(conf.get(), callbacks.on_delivery);
  }
  if (callbacks.on_error != nullptr) {
    rd_kafka_conf_set_error_cb(conf.get(), callbacks.on_error);
  }
  return NewKafkaClient(RD_KAFKA_PRODUCER, std::move(conf),
                        "the Kafka producer");
}

void RequestTopicMetadata(rd_kafka_t* producer, const std::string& topic,
                          absl::Duration timeout) {
  rd_kafka_topic_t* handle =
      rd_kafka_topic_new(producer, topic.c_str(), nullptr);
  if (handle == nullptr) return;
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(producer, /*all_topics=*/0, handle, &metadata,
                        static_cast<int>(absl::ToInt64Milliseconds(timeout))) ==
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_metadata_destroy(metadata);
  }
  rd_kafka_topic_destroy(handle);
}

rd_kafka_resp_err_t ProduceMessage(rd_kafka_t* producer,
                                   const std::string& topic,
                                   std::string_view key, std::string_view value,
                                   std::span<const MessageHeader> headers,
                                   void* opaque) {
  // On the stack: this runs once per event on the relay's hot path.
  constexpr size_t kMaxHeaders = 8;
  if (headers.size() > kMaxHeaders) return RD_KAFKA_RESP_ERR__INVALID_ARG;
  std::array<rd_kafka_vu_t, 5 + kMaxHeaders> fields{};
  fields[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  fields[0].u.cstr = topic.c_str();
  fields[1].vtype = RD_KAFKA_VTYPE_KEY;
  fields[1].u.mem = {const_cast<char*>(key.data()), key.size()};
  fields[2].vtype = RD_KAFKA_VTYPE_VALUE;
  fields[2].u.mem = {const_cast<char*>(value.data()), value.size()};
  fields[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  fields[3].u.i = RD_KAFKA_MSG_F_COPY;
  fields[4].vtype = RD_KAFKA_VTYPE_OPAQUE;
  fields[4].u.ptr = opaque;
  for (size_t i = 0; i < headers.size(); ++i) {
    rd_kafka_vu_t& field = fields[5 + i];
    field.vtype = RD_KAFKA_VTYPE_HEADER;
    field.u.header = {headers[i].name, headers[i].value.data(),
                      static_cast<ssize_t>(headers[i].value.size())};
  }
  rd_kafka_error_t* error =
      rd_kafka_produceva(producer, fields.data(), 5 + headers.size());
  if (error == nullptr) return RD_KAFKA_RESP_ERR_NO_ERROR;
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  return code;
}

rd_kafka_resp_err_t ProduceEvent(rd_kafka_t* producer, const std::string& topic,
                                 std::string_view key, std::string_view value,
                                 std::string_view event_id,
                                 std::string_view type, void* opaque) {
  const MessageHeader headers[] = {{"event_id", event_id}, {"type", type}};
  return ProduceMessage(producer, topic, key, value, headers, opaque);
}

}  // namespace crm::bus
