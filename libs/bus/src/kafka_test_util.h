// Test helpers for libs/bus: an in-process librdkafka mock cluster and a
// reader that reads a topic back from the beginning. Test-only.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/common/v1/event_envelope.pb.h"
#include "gtest/gtest.h"

namespace crm::bus::test_util {

// librdkafka's mock cluster on loopback, owned by a dummy producer handle.
class MockCluster {
 public:
  MockCluster(int brokers, const std::string& topic, int partitions)
      : brokers_(brokers) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", "", errstr, sizeof(errstr));
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    EXPECT_NE(handle_, nullptr) << errstr;
    cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
    EXPECT_NE(cluster_, nullptr);
    EXPECT_EQ(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions,
                                         brokers),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;
  ~MockCluster() {
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (handle_ != nullptr) rd_kafka_destroy(handle_);
  }

  std::string bootstrap() const {
    return rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }

  void SetAllBrokers(bool up) {
    for (int32_t id = 1; id <= brokers_; ++id) {
      if (up) {
        rd_kafka_mock_broker_set_up(cluster_, id);
      } else {
        rd_kafka_mock_broker_set_down(cluster_, id);
      }
    }
  }

 private:
  int brokers_;
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

struct ConsumedMessage {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string event_id_header;
  std::string type_header;
  std::map<std::string, std::string> headers;  // Every header (last wins).
  common::v1::EventEnvelope envelope;
};

inline std::map<std::string, std::string> AllHeaders(
    const rd_kafka_message_t* message) {
  std::map<std::string, std::string> all;
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(message, &headers) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return all;
  }
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
       RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    all[name] = std::string(static_cast<const char*>(value), size);
  }
  return all;
}

inline std::string Header(const rd_kafka_message_t* message, const char* name) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(message, &headers) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return "";
  }
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return "";
  }
  return std::string(static_cast<const char*>(value), size);
}

// Reads `topic` (partitions 0..partitions-1) from the beginning with an
// assigned consumer (no group join) until it has seen `expected_unique`
// distinct event ids or `timeout` passes, then `linger` longer to catch
// duplicates. Messages in partition order; partitions interleaved.
inline std::vector<ConsumedMessage> ReadTopic(
    const std::string& bootstrap, const std::string& topic, int partitions,
    size_t expected_unique, absl::Duration timeout,
    absl::Duration linger = absl::Milliseconds(300)) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr,
                    sizeof(errstr));
  rd_kafka_conf_set(conf, "group.id", "bus-test-reader", errstr,
                    sizeof(errstr));
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                    sizeof(errstr));
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr,
                    sizeof(errstr));
  rd_kafka_t* consumer =
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  EXPECT_NE(consumer, nullptr) << errstr;
  std::vector<ConsumedMessage> messages;
  if (consumer == nullptr) return messages;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  EXPECT_EQ(rd_kafka_assign(consumer, list), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);

  absl::flat_hash_set<std::string> unique;
  absl::Time deadline = absl::Now() + timeout;
  bool lingering = false;
  while (absl::Now() < deadline) {
    if (!lingering && unique.size() >= expected_unique) {
      lingering = true;
      deadline = absl::Now() + linger;
    }
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 50);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ConsumedMessage consumed;
      consumed.partition = message->partition;
      consumed.offset = message->offset;
      if (message->key != nullptr) {
        consumed.key.assign(static_cast<const char*>(message->key),
                            message->key_len);
      }
      consumed.event_id_header = Header(message, "event_id");
      consumed.type_header = Header(message, "type");
      consumed.headers = AllHeaders(message);
      EXPECT_TRUE(consumed.envelope.ParseFromArray(
          message->payload, static_cast<int>(message->len)));
      unique.insert(consumed.envelope.event_id());
      messages.push_back(std::move(consumed));
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return messages;
}

}  // namespace crm::bus::test_util
