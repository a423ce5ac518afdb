// Kafka clients for the dev broker's tests: a producer that counts its
// delivery reports and keeps its latest statistics, and a reader of a
// topic's values. Plain librdkafka, as a service in another process would
// use it.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/dev_broker/dev_broker_process.h"
#include "gtest/gtest.h"

namespace crm::dev_broker::test_util {

inline DevBrokerProcess::Options BrokerOptions(int brokers, bool control) {
  DevBrokerProcess::Options options;
  options.binary = CRM_DEV_BROKER_PATH;
  options.brokers = brokers;
  options.partitions = 2;
  options.control = control;
  return options;
}

// A producer with acks=all. Its callbacks run inside Flush()/Poll(), on the
// calling thread, so the counters need no lock.
class TestProducer {
 public:
  TestProducer(const std::string& bootstrap,
               const std::map<std::string, std::string>& config) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::map<std::string, std::string> all = {{"bootstrap.servers", bootstrap},
                                              {"acks", "all"}};
    for (const auto& [key, value] : config) all[key] = value;
    for (const auto& [key, value] : all) {
      EXPECT_EQ(rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr,
                                  sizeof(errstr)),
                RD_KAFKA_CONF_OK)
          << key << ": " << errstr;
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &TestProducer::OnDelivery);
    rd_kafka_conf_set_stats_cb(conf, &TestProducer::OnStats);
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    EXPECT_NE(producer_, nullptr) << errstr;
  }
  ~TestProducer() {
    if (producer_ != nullptr) rd_kafka_destroy(producer_);
  }
  TestProducer(const TestProducer&) = delete;
  TestProducer& operator=(const TestProducer&) = delete;

  bool ok() const { return producer_ != nullptr; }
  rd_kafka_t* handle() const { return producer_; }

  // Enqueues one message; false when librdkafka refuses it at once.
  // rd_kafka_produce, not rd_kafka_producev: the RD_KAFKA_V_* macros are GNU
  // statement expressions, refused by clang with -Wpedantic -Werror.
  bool Produce(const std::string& topic, int32_t partition,
               const std::string& value) {
    rd_kafka_topic_t* handle =
        rd_kafka_topic_new(producer_, topic.c_str(), nullptr);
    if (handle == nullptr) return false;
    const int result = rd_kafka_produce(
        handle, partition, RD_KAFKA_MSG_F_COPY, const_cast<char*>(value.data()),
        value.size(), value.data(), value.size(), nullptr);
    rd_kafka_topic_destroy(handle);
    return result == 0;
  }

  // rd_kafka_flush: NO_ERROR once every message has its delivery report,
  // _TIMED_OUT when some are still waiting after `timeout`.
  rd_kafka_resp_err_t Flush(absl::Duration timeout) {
    return rd_kafka_flush(producer_,
                          static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  }
  void Poll(absl::Duration timeout) {
    rd_kafka_poll(producer_,
                  static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  }

  int delivered() const { return delivered_; }
  int failed() const { return failed_; }
  rd_kafka_resp_err_t last_error() const { return last_error_; }
  // The latest statistics JSON ("statistics.interval.ms"), "" before any.
  const std::string& stats() const { return stats_; }

 private:
  static void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message,
                         void* opaque) {
    auto* self = static_cast<TestProducer*>(opaque);
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++self->delivered_;
    } else {
      ++self->failed_;
      self->last_error_ = message->err;
    }
  }
  static int OnStats(rd_kafka_t* /*rk*/, char* json, size_t json_len,
                     void* opaque) {
    static_cast<TestProducer*>(opaque)->stats_.assign(json, json_len);
    return 0;  // librdkafka frees `json`.
  }

  rd_kafka_t* producer_ = nullptr;
  int delivered_ = 0;
  int failed_ = 0;
  rd_kafka_resp_err_t last_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string stats_;
};

// Reads `topic`'s partitions 0..partitions-1 from the beginning until
// `count` values arrived or `timeout` passed; returns them in arrival order.
inline std::vector<std::string> ReadValues(const std::string& bootstrap,
                                           const std::string& topic,
                                           int partitions, size_t count,
                                           absl::Duration timeout) {
  std::vector<std::string> values;
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr,
                    sizeof(errstr));
  rd_kafka_conf_set(conf, "group.id", "dev-broker-test", errstr,
                    sizeof(errstr));
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                    sizeof(errstr));
  rd_kafka_t* consumer =
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  EXPECT_NE(consumer, nullptr) << errstr;
  if (consumer == nullptr) return values;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  EXPECT_EQ(rd_kafka_assign(consumer, list), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  const absl::Time deadline = absl::Now() + timeout;
  while (values.size() < count && absl::Now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 100);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      values.emplace_back(static_cast<const char*>(message->payload),
                          message->len);
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return values;
}

}  // namespace crm::dev_broker::test_util
