#include "bare_producer.h"

#include <librdkafka/rdkafka.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "crm/base/status_macros.h"
#include "fmt/format.h"
#include "kafka_status.h"
#include "run_control.h"

namespace crm::bench {
namespace {

// Messages produced between two polls for delivery reports (the relay polls
// after each batch it reads, 512 events by default).
constexpr size_t kPollEvery = 512;

struct DeliveryCount {
  uint64_t delivered = 0;
  uint64_t failed = 0;
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
};

// Served by rd_kafka_poll / rd_kafka_flush on the producing thread.
void OnDelivery(rd_kafka_t* /*producer*/, const rd_kafka_message_t* message,
                void* opaque) {
  auto* count = static_cast<DeliveryCount*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++count->delivered;
    return;
  }
  if (count->failed++ == 0) count->first_error = message->err;
}

struct ProducerDeleter {
  void operator()(rd_kafka_t* producer) const { rd_kafka_destroy(producer); }
};
using ProducerPtr = std::unique_ptr<rd_kafka_t, ProducerDeleter>;

absl::StatusOr<ProducerPtr> NewProducer(
    const std::map<std::string, std::string>& config, DeliveryCount* count) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512] = {0};
  for (const auto& [property, value] : config) {
    const rd_kafka_conf_res_t set = rd_kafka_conf_set(
        conf, property.c_str(), value.c_str(), errstr, sizeof(errstr));
    if (set != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return bus::KafkaConfResultToStatus(set, property, errstr);
    }
  }
  rd_kafka_conf_set_opaque(conf, count);
  rd_kafka_conf_set_dr_msg_cb(conf, &OnDelivery);
  // On success rd_kafka_new owns conf; on failure it is still ours.
  rd_kafka_t* producer =
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (producer == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(
        fmt::format("cannot create the ceiling's Kafka producer: {}; fix its "
                    "configuration",
                    errstr));
  }
  return ProducerPtr(producer);
}

// Produces `message` the way the relay does: one rd_kafka_produceva call,
// payload copied, two headers.
rd_kafka_resp_err_t Produce(rd_kafka_t* producer, const std::string& topic,
                            const RelayMessages::Message& message) {
  rd_kafka_vu_t fields[6] = {};
  fields[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  fields[0].u.cstr = topic.c_str();
  fields[1].vtype = RD_KAFKA_VTYPE_KEY;
  fields[1].u.mem = {const_cast<char*>(message.key.data()), message.key.size()};
  fields[2].vtype = RD_KAFKA_VTYPE_VALUE;
  fields[2].u.mem = {const_cast<char*>(message.value.data()),
                     message.value.size()};
  fields[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  fields[3].u.i = RD_KAFKA_MSG_F_COPY;
  fields[4].vtype = RD_KAFKA_VTYPE_HEADER;
  fields[4].u.header = {"event_id", message.event_id.data(),
                        static_cast<ssize_t>(message.event_id.size())};
  fields[5].vtype = RD_KAFKA_VTYPE_HEADER;
  fields[5].u.header = {"type", message.type.data(),
                        static_cast<ssize_t>(message.type.size())};
  rd_kafka_error_t* error = rd_kafka_produceva(producer, fields, 6);
  if (error == nullptr) return RD_KAFKA_RESP_ERR_NO_ERROR;
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  return code;
}

absl::Status CheckDeliveries(const DeliveryCount& count,
                             const std::string& topic) {
  if (count.failed == 0) return absl::OkStatus();
  return bus::KafkaErrorToStatus(
      count.first_error,
      fmt::format("delivering the ceiling's messages to {} ({} failed)", topic,
                  count.failed));
}

}  // namespace

absl::StatusOr<RunTiming> ProduceAll(
    const std::map<std::string, std::string>& config, const std::string& topic,
    const RelayMessages& messages, absl::Duration timeout) {
  DeliveryCount count;
  RunTiming timing;
  bool first_seen = false;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  ASSIGN_OR_RETURN(ProducerPtr producer, NewProducer(config, &count));
  // Serves delivery reports, noting when the first success was seen.
  auto poll = [&](int timeout_ms) {
    rd_kafka_poll(producer.get(), timeout_ms);
    if (!first_seen && count.delivered > 0) {
      first_seen = true;
      timing.first_delivery = absl::Now() - start;
      timing.delivered_at_first = count.delivered;
    }
  };
  for (size_t i = 0; i < messages.size();) {
    if (StopRequested()) return absl::CancelledError("stopped by a signal");
    const rd_kafka_resp_err_t err = Produce(producer.get(), topic, messages[i]);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(fmt::format(
            "the ceiling's producer queue stayed full for {}: {} of {} "
            "messages delivered; check the mock cluster",
            absl::FormatDuration(timeout), count.delivered, messages.size()));
      }
      poll(10);  // Wait for delivery reports, as the relay does.
      continue;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return bus::KafkaErrorToStatus(
          err, fmt::format("producing the ceiling's message {} to {}", i + 1,
                           topic));
    }
    ++i;
    if (i % kPollEvery == 0) poll(0);
  }
  while (count.delivered + count.failed < messages.size()) {
    if (StopRequested()) return absl::CancelledError("stopped by a signal");
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(fmt::format(
          "the ceiling got {} of {} delivery reports from {} within {}; check "
          "the mock cluster",
          count.delivered + count.failed, messages.size(), topic,
          absl::FormatDuration(timeout)));
    }
    poll(10);
  }
  timing.end = absl::Now() - start;
  timing.events = count.delivered;
  RETURN_IF_ERROR(CheckDeliveries(count, topic));
  return timing;
}

}  // namespace crm::bench
