#include "dead_letter_publisher.h"

#include <algorithm>

#include "crm/base/status_macros.h"
#include "fmt/format.h"
#include "kafka_producer.h"
#include "kafka_status.h"

namespace crm::bus {

absl::StatusOr<std::unique_ptr<DeadLetterPublisher>>
DeadLetterPublisher::Create(const KafkaConfig& config, std::string topic) {
  std::unique_ptr<DeadLetterPublisher> publisher(
      new DeadLetterPublisher(std::move(topic)));
  ASSIGN_OR_RETURN(publisher->producer_,
                   NewIdempotentProducer(
                       config, ProducerCallbacks{.opaque = publisher.get(),
                                                 .on_delivery = &OnDelivery,
                                                 .on_error = nullptr}));
  return publisher;
}

DeadLetterPublisher::~DeadLetterPublisher() {
  if (producer_ == nullptr) return;
  // Unacknowledged letters stay in the store and are published by the next
  // consumer; the delivery reports of the purge free their keys.
  rd_kafka_purge(producer_.get(),
                 RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(producer_.get(), 0);
  producer_.reset();
}

void DeadLetterPublisher::OnDelivery(rd_kafka_t*,
                                     const rd_kafka_message_t* message,
                                     void* opaque) {
  auto* self = static_cast<DeadLetterPublisher*>(opaque);
  std::unique_ptr<std::string> key(
      static_cast<std::string*>(message->_private));
  std::erase(self->in_flight_, *key);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->delivered_.push_back(std::move(*key));
  } else {
    self->last_error_ = KafkaErrorToStatus(
        message->err,
        fmt::format("publishing a dead letter to {}", self->topic_));
  }
}

void DeadLetterPublisher::Publish(
    const std::vector<std::pair<std::string, records::DeadLetterRecord>>&
        letters) {
  for (const auto& [key, record] : letters) {
    if (std::find(in_flight_.begin(), in_flight_.end(), key) !=
        in_flight_.end()) {
      continue;
    }
    const std::string partition = std::to_string(record.message().partition());
    const std::string offset = std::to_string(record.message().offset());
    const MessageHeader headers[] = {
        {"error", record.error()},
        {"source_topic", record.source_topic()},
        {"source_partition", partition},
        {"source_offset", offset},
        {"event_id", record.event_id()},
        {"type", record.type()},
    };
    auto owned_key = std::make_unique<std::string>(key);
    const rd_kafka_resp_err_t err =
        ProduceMessage(producer_.get(), topic_, record.message().key(),
                       record.message().value(), headers, owned_key.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last_error_ = KafkaErrorToStatus(
          err, fmt::format("publishing a dead letter to {}", topic_));
      return;  // Tried again on the next round.
    }
    in_flight_.push_back(key);
    (void)owned_key.release();  // Freed by OnDelivery.
  }
}

std::vector<std::string> DeadLetterPublisher::TakeDelivered() {
  rd_kafka_poll(producer_.get(), 0);
  return std::exchange(delivered_, {});
}

}  // namespace crm::bus
