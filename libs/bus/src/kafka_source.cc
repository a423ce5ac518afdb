#include "kafka_source.h"

#include <algorithm>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "crm/base/status_macros.h"
#include "fmt/format.h"
#include "kafka_status.h"

namespace crm::bus {
namespace {

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionList =
    std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

const KafkaConfig& ConsumerDefaults() {
  static const auto* const kDefaults = new KafkaConfig{
      // Used only when a stored offset is no longer in the log (trimmed by
      // retention): start from what is left.
      {"auto.offset.reset", "earliest"},
      {"reconnect.backoff.max.ms", "1000"},
  };
  return *kDefaults;
}

class KafkaSource final : public MessageSource {
 public:
  explicit KafkaSource(SourceListener& listener) : listener_(listener) {}

  ~KafkaSource() override {
    if (consumer_ == nullptr) return;
    // Leaves the group at once (the rebalance callback revokes our
    // partitions) rather than after the session timeout.
    rd_kafka_consumer_close(consumer_.get());
    if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
    consumer_.reset();
  }

  absl::Status Init(const KafkaConfig& config, const std::string& group,
                    const std::vector<std::string>& topics) {
    const KafkaConfig forced = {
        {"group.id", group},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
    };
    ASSIGN_OR_RETURN(KafkaConfPtr conf,
                     NewKafkaConf({&ConsumerDefaults(), &config, &forced}));
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &OnRebalance);
    rd_kafka_conf_set_error_cb(conf.get(), &OnError);
    ASSIGN_OR_RETURN(consumer_,
                     NewKafkaClient(RD_KAFKA_CONSUMER, std::move(conf),
                                    "the Kafka consumer"));
    rd_kafka_poll_set_consumer(consumer_.get());
    queue_ = rd_kafka_queue_get_consumer(consumer_.get());
    PartitionList list(
        rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const std::string& topic : topics) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(),
                                        RD_KAFKA_PARTITION_UA);
    }
    return KafkaErrorToStatus(
        rd_kafka_subscribe(consumer_.get(), list.get()),
        fmt::format("subscribing consumer group {}", group));
  }

  absl::Status Poll(absl::Duration timeout, size_t max_count,
                    std::vector<SourceMessage>& out) override {
    out.clear();
    gathering_ = &out;
    int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
    while (out.size() < max_count) {
      rd_kafka_message_t* message =
          rd_kafka_consumer_poll(consumer_.get(), wait_ms);
      if (message == nullptr) break;
      wait_ms = 0;  // Take what is there, wait no more.
      Take(*message, out);
      rd_kafka_message_destroy(message);
    }
    gathering_ = nullptr;
    return absl::OkStatus();
  }

  void Rewind() override {
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(consumer_.get(), &assigned) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return;
    }
    PartitionList list(assigned);
    if (!SetStartOffsets(list.get())) return;
    rd_kafka_error_t* error =
        rd_kafka_seek_partitions(consumer_.get(), list.get(), 5000);
    if (error != nullptr) {
      RecordError(KafkaErrorToStatus(rd_kafka_error_code(error),
                                     "seeking to the stored offsets"));
      rd_kafka_error_destroy(error);
    }
  }

  void Committed(const std::vector<PartitionLag>& positions) override {
    PartitionList list(
        rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
    for (const PartitionLag& position : positions) {
      rd_kafka_topic_partition_list_add(list.get(), position.topic.c_str(),
                                        position.partition)
          ->offset = position.next_offset;
    }
    // Asynchronous and best effort: the offsets that count are in the
    // store; these let Kafka's tools show the group's lag.
    rd_kafka_commit(consumer_.get(), list.get(), /*async=*/1);
  }

  int64_t HighWatermark(const std::string& topic, int32_t partition,
                        bool fresh) const override {
    int64_t low = 0;
    int64_t high = 0;
    const rd_kafka_resp_err_t err =
        fresh ? rd_kafka_query_watermark_offsets(consumer_.get(), topic.c_str(),
                                                 partition, &low, &high, 5000)
              : rd_kafka_get_watermark_offsets(consumer_.get(), topic.c_str(),
                                               partition, &low, &high);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    return high;  // librdkafka reports -1001 (invalid) until the first fetch.
  }

  absl::Status last_error() const override {
    absl::MutexLock lock(&mu_);
    return last_error_;
  }

  void Wake() override {
    if (queue_ != nullptr) rd_kafka_queue_yield(queue_);
  }

 private:
  void Take(const rd_kafka_message_t& message,
            std::vector<SourceMessage>& out) {
    if (message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    if (message.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      RecordError(KafkaErrorToStatus(
          message.err,
          fmt::format("consuming {}", message.rkt != nullptr
                                          ? rd_kafka_topic_name(message.rkt)
                                          : "the topics")));
      return;
    }
    SourceMessage& taken = out.emplace_back();
    taken.topic = rd_kafka_topic_name(message.rkt);
    taken.partition = message.partition;
    taken.offset = message.offset;
    if (message.key != nullptr) {
      taken.key.assign(static_cast<const char*>(message.key), message.key_len);
    }
    if (message.payload != nullptr) {
      taken.value.assign(static_cast<const char*>(message.payload),
                         message.len);
    }
  }

  // Sets each partition's offset to the stored one. False (error recorded)
  // when the store cannot be read.
  bool SetStartOffsets(rd_kafka_topic_partition_list_t* partitions) {
    for (int i = 0; i < partitions->cnt; ++i) {
      rd_kafka_topic_partition_t& partition = partitions->elems[i];
      absl::StatusOr<int64_t> offset =
          listener_.StartOffset(partition.topic, partition.partition);
      if (!offset.ok()) {
        RecordError(offset.status());
        return false;
      }
      partition.offset = *offset == 0 ? RD_KAFKA_OFFSET_BEGINNING : *offset;
    }
    return true;
  }

  static void OnRebalance(rd_kafka_t* consumer, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions,
                          void* opaque) {
    auto* self = static_cast<KafkaSource*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS &&
        self->SetStartOffsets(partitions)) {
      rd_kafka_assign(consumer, partitions);
      return;
    }
    // Revoked (or an assignment we cannot start: unassign, so no partition
    // is consumed from a wrong offset; the next rebalance tries again).
    for (int i = 0; i < partitions->cnt; ++i) {
      const rd_kafka_topic_partition_t& partition = partitions->elems[i];
      self->listener_.Revoked(partition.topic, partition.partition);
      if (self->gathering_ != nullptr) {
        std::erase_if(*self->gathering_, [&](const SourceMessage& message) {
          return message.partition == partition.partition &&
                 message.topic == partition.topic;
        });
      }
    }
    rd_kafka_assign(consumer, nullptr);
  }

  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    static_cast<KafkaSource*>(opaque)->RecordError(
        KafkaErrorToStatus(static_cast<rd_kafka_resp_err_t>(err),
                           fmt::format("in the Kafka consumer ({})", reason)));
  }

  void RecordError(absl::Status status) {
    absl::MutexLock lock(&mu_);
    last_error_ = std::move(status);
  }

  SourceListener& listener_;
  KafkaClientPtr consumer_;
  rd_kafka_queue_t* queue_ = nullptr;
  // The batch Poll is gathering, so a revocation can drop its messages.
  std::vector<SourceMessage>* gathering_ = nullptr;

  mutable absl::Mutex mu_;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::Status CheckConsumerConfig(const KafkaConfig& config) {
  RETURN_IF_ERROR(CheckBootstrapServers(config));
  for (const char* property :
       {"group.id", "enable.auto.commit", "enable.auto.offset.store"}) {
    if (config.contains(property)) {
      return absl::InvalidArgumentError(fmt::format(
          "kafka_config sets {}, which the consumer sets itself (the group "
          "is crm.<service>.<purpose>; offsets are stored with the effects); "
          "remove it",
          property));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MessageSource>> NewKafkaSource(
    const KafkaConfig& config, const std::string& group,
    const std::vector<std::string>& topics, SourceListener& listener) {
  RETURN_IF_ERROR(CheckConsumerConfig(config));
  auto source = std::make_unique<KafkaSource>(listener);
  RETURN_IF_ERROR(source->Init(config, group, topics));
  return source;
}

}  // namespace crm::bus
