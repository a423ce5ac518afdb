#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <utility>

#include "big_endian.h"
#include "consumer_state.h"
#include "crm/base/status_macros.h"
#include "crm/bus/topic_source.h"
#include "fmt/format.h"
#include "kafka_client.h"
#include "kafka_source.h"
#include "kafka_status.h"

namespace crm::bus {
namespace {

using projection::Envelope;

constexpr int kMetadataTimeoutMs = 5000;
constexpr char kCheckpointFormat = 'K';

// 'K', then per partition: partition u32, next offset u64, high water u64
// (all big-endian), in partition order.
std::string EncodeCheckpoint(
    const std::map<int32_t, PartitionCursor>& cursors) {
  std::string out(1, kCheckpointFormat);
  for (const auto& [partition, cursor] : cursors) {
    PutBigEndian(out, static_cast<uint32_t>(partition), 4);
    PutBigEndian(out, static_cast<uint64_t>(cursor.next_offset), 8);
    PutBigEndian(out, cursor.high_water, 8);
  }
  return out;
}

absl::StatusOr<std::map<int32_t, PartitionCursor>> DecodeCheckpoint(
    std::string_view bytes, const std::string& topic) {
  std::map<int32_t, PartitionCursor> cursors;
  if (bytes.empty()) return cursors;
  if (bytes[0] != kCheckpointFormat || (bytes.size() - 1) % 20 != 0) {
    return absl::DataLossError(fmt::format(
        "the projection's checkpoint for {} is not a topic checkpoint ({} "
        "bytes); was the projection fed from another source before? Give "
        "it a new version to rebuild it from the topic",
        topic, bytes.size()));
  }
  for (size_t at = 1; at < bytes.size(); at += 20) {
    PartitionCursor& cursor =
        cursors[static_cast<int32_t>(GetBigEndian(bytes.substr(at, 4)))];
    cursor.next_offset =
        static_cast<int64_t>(GetBigEndian(bytes.substr(at + 4, 8)));
    cursor.high_water = GetBigEndian(bytes.substr(at + 12, 8));
  }
  return cursors;
}

class TopicFeed final : public projection::EventFeed {
 public:
  TopicFeed(std::string topic, std::map<int32_t, PartitionCursor> cursors)
      : topic_(std::move(topic)), cursors_(std::move(cursors)) {
    for (const auto& [partition, cursor] : cursors_) {
      position_ = std::max(position_, cursor.high_water);
    }
  }

  ~TopicFeed() override {
    if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
    if (consumer_ != nullptr) rd_kafka_consumer_close(consumer_.get());
  }

  absl::Status Init(const KafkaConfig& config) {
    // A reader of all partitions by assignment: no group membership, no
    // offsets committed to Kafka (they live in the checkpoint).
    const KafkaConfig forced = {
        {"group.id", topic_ + ".projection-reader"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
    };
    ASSIGN_OR_RETURN(KafkaConfPtr conf, NewKafkaConf({&config, &forced}));
    ASSIGN_OR_RETURN(consumer_,
                     NewKafkaClient(RD_KAFKA_CONSUMER, std::move(conf),
                                    "the Kafka reader of " + topic_));
    rd_kafka_poll_set_consumer(consumer_.get());
    queue_ = rd_kafka_queue_get_consumer(consumer_.get());
    ASSIGN_OR_RETURN(int partitions, PartitionCount());
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(partitions);
    for (int32_t p = 0; p < partitions; ++p) {
      PartitionCursor& cursor = cursors_[p];  // New partitions: from 0.
      rd_kafka_topic_partition_list_add(list, topic_.c_str(), p)->offset =
          cursor.next_offset == 0 ? RD_KAFKA_OFFSET_BEGINNING
                                  : cursor.next_offset;
    }
    const rd_kafka_resp_err_t err = rd_kafka_assign(consumer_.get(), list);
    rd_kafka_topic_partition_list_destroy(list);
    return KafkaErrorToStatus(err, "assigning the partitions of " + topic_);
  }

  absl::Status Next(absl::Duration timeout, size_t max_events,
                    std::vector<Envelope>& events,
                    std::string& checkpoint) override {
    if (cancelled_) return Cancelled();
    if (!broken_.ok()) return broken_;
    size_t count = 0;
    int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
    absl::Status status;
    while (count < max_events && status.ok()) {
      rd_kafka_message_t* message =
          rd_kafka_consumer_poll(consumer_.get(), wait_ms);
      if (message == nullptr) break;
      wait_ms = 0;
      status = Take(*message, events, count);
      rd_kafka_message_destroy(message);
    }
    events.resize(count);
    if (cancelled_) return Cancelled();
    if (!status.ok() && count == 0) return status;
    checkpoint = EncodeCheckpoint(cursors_);
    return absl::OkStatus();
  }

  bool CaughtUp() const override {
    for (const auto& [partition, cursor] : cursors_) {
      int64_t low = 0;
      int64_t high = 0;
      if (rd_kafka_get_watermark_offsets(consumer_.get(), topic_.c_str(),
                                         partition, &low,
                                         &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
          high < 0 || cursor.next_offset < high) {
        return false;
      }
    }
    return true;
  }

  uint64_t Position() const override { return position_; }

  uint64_t Lag() const override {
    uint64_t lag = 0;
    for (const auto& [partition, cursor] : cursors_) {
      int64_t low = 0;
      int64_t high = 0;
      if (rd_kafka_get_watermark_offsets(consumer_.get(), topic_.c_str(),
                                         partition, &low,
                                         &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          high > cursor.next_offset) {
        lag += static_cast<uint64_t>(high - cursor.next_offset);
      }
    }
    return lag;
  }

  void Cancel() override {
    cancelled_ = true;
    if (queue_ != nullptr) rd_kafka_queue_yield(queue_);
  }

 private:
  absl::Status Cancelled() const {
    return absl::CancelledError("the feed of " + topic_ + " was cancelled");
  }

  absl::StatusOr<int> PartitionCount() {
    rd_kafka_topic_t* handle =
        rd_kafka_topic_new(consumer_.get(), topic_.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(consumer_.get(), 0, handle,
                                                &metadata, kMetadataTimeoutMs);
    rd_kafka_topic_destroy(handle);
    RETURN_IF_ERROR(KafkaErrorToStatus(
        err, "asking Kafka for the partitions of " + topic_));
    int partitions = 0;
    if (metadata->topic_cnt == 1) {
      err = metadata->topics[0].err;
      partitions = metadata->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(metadata);
    RETURN_IF_ERROR(KafkaErrorToStatus(
        err, "asking Kafka for the partitions of " + topic_));
    if (partitions == 0) {
      return absl::NotFoundError(fmt::format(
          "topic {} has no partitions; create it (crm-dev-broker creates the "
          "suite's topics)",
          topic_));
    }
    return partitions;
  }

  // Adds the message's event to `events` unless it is a copy of one
  // applied before.
  absl::Status Take(const rd_kafka_message_t& message,
                    std::vector<Envelope>& events, size_t& count) {
    if (message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      return absl::OkStatus();
    }
    if (message.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // The reader retries by itself (brokers down, leader moves): keep
      // what was taken, report it when nothing was.
      return KafkaErrorToStatus(message.err, "reading " + topic_);
    }
    PartitionCursor& cursor = cursors_[message.partition];
    if (message.offset < cursor.next_offset) return absl::OkStatus();
    // The relay's producer writes no transaction markers, so offsets have no
    // holes: a hole means retention deleted events this feed never applied.
    const int64_t expected = cursor.next_offset;
    if (message.offset > expected) {
      broken_ = absl::DataLossError(fmt::format(
          "{} partition {} no longer holds offsets {} to {} (deleted by "
          "retention?), so the projection would miss events; rebuild it from "
          "the publisher's own store, or keep the topic's events forever "
          "(retention.ms=-1)",
          topic_, message.partition, expected, message.offset - 1));
      return broken_;
    }
    if (count == events.size()) events.emplace_back();
    Envelope& event = events[count];
    if (!event.ParseFromArray(message.payload, static_cast<int>(message.len))) {
      // Sticky: the reader has moved past the message already.
      broken_ = absl::DataLossError(fmt::format(
          "{} partition {} offset {} is not a serialized "
          "crm.common.v1.EventEnvelope; the projection cannot apply it",
          topic_, message.partition, message.offset));
      return broken_;
    }
    cursor.next_offset = message.offset + 1;
    if (event.global_position() <= cursor.high_water) {
      return absl::OkStatus();  // A copy published again.
    }
    cursor.high_water = event.global_position();
    position_ = std::max(position_, event.global_position());
    ++count;
    return absl::OkStatus();
  }

  const std::string topic_;
  std::map<int32_t, PartitionCursor> cursors_;
  uint64_t position_ = 0;
  KafkaClientPtr consumer_;
  rd_kafka_queue_t* queue_ = nullptr;
  std::atomic<bool> cancelled_{false};
  absl::Status broken_;  // Returned by every Next once set.
};

class TopicSource final : public projection::EventSource {
 public:
  TopicSource(KafkaConfig config, std::string topic)
      : config_(std::move(config)), topic_(std::move(topic)) {}

  absl::StatusOr<std::unique_ptr<projection::EventFeed>> Open(
      std::string_view checkpoint) override {
    RETURN_IF_ERROR(CheckConsumerConfig(config_));
    ASSIGN_OR_RETURN(auto cursors, DecodeCheckpoint(checkpoint, topic_));
    auto feed = std::make_unique<TopicFeed>(topic_, std::move(cursors));
    RETURN_IF_ERROR(feed->Init(config_));
    return feed;
  }

  std::string Describe() const override { return "Kafka topic " + topic_; }

 private:
  const KafkaConfig config_;
  const std::string topic_;
};

}  // namespace

std::unique_ptr<projection::EventSource> NewKafkaTopicSource(
    KafkaConfig kafka_config, std::string service) {
  return std::make_unique<TopicSource>(
      std::move(kafka_config), fmt::format("crm.{}.events.v1", service));
}

}  // namespace crm::bus
