// DeadLetterPublisher: publishes the dead letters a consumer stored to
// crm.<service>.dlq.v1. A dead letter is first committed to the consuming
// store (with the offset that skipped it), then produced with the
// idempotent producer, then deleted from the store once Kafka acknowledged
// it: at least once, nothing lost across a crash. Internal to libs/bus.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "consumer_state.h"
#include "kafka_client.h"

namespace crm::bus {

// The Kafka message of a dead letter: key = the stream, value = the message
// as consumed, headers error, source_topic, source_partition, source_offset,
// event_id, type.
class DeadLetterPublisher {
 public:
  // Errors: INVALID_ARGUMENT for a bad producer configuration.
  static absl::StatusOr<std::unique_ptr<DeadLetterPublisher>> Create(
      const KafkaConfig& config, std::string topic);
  ~DeadLetterPublisher();

  // Produces `letters` (store key, record) unless already in flight.
  void Publish(
      const std::vector<std::pair<std::string, records::DeadLetterRecord>>&
          letters);
  // Serves delivery reports and returns the store keys of the letters Kafka
  // acknowledged since the last call; failed ones may be published again.
  std::vector<std::string> TakeDelivered();
  size_t in_flight() const { return in_flight_.size(); }
  absl::Status last_error() const { return last_error_; }
  const std::string& topic() const { return topic_; }

 private:
  explicit DeadLetterPublisher(std::string topic) : topic_(std::move(topic)) {}
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message,
                         void* opaque);

  std::string topic_;
  KafkaClientPtr producer_;
  std::vector<std::string> in_flight_;  // Store keys produced, not yet acked.
  std::vector<std::string> delivered_;
  absl::Status last_error_;
};

}  // namespace crm::bus
