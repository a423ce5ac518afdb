#include "mock_kafka_cluster.h"

#include <algorithm>
#include <utility>

#include "fmt/format.h"
#include "kafka_status.h"

namespace crm::bench {
namespace {

constexpr int kQueryTimeoutMs = 10'000;

// A producer handle with `bootstrap` (empty: connected nowhere).
absl::StatusOr<rd_kafka_t*> NewHandle(const std::string& bootstrap) {
  char errstr[512] = {0};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // Warnings and worse only: the mock's owner would log a notice that it has
  // no bootstrap.servers, which is the point of it.
  for (const auto& [property, value] :
       {std::pair<const char*, std::string>{"bootstrap.servers", bootstrap},
        {"log_level", "4"}}) {
    const rd_kafka_conf_res_t set = rd_kafka_conf_set(
        conf, property, value.c_str(), errstr, sizeof(errstr));
    if (set != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return bus::KafkaConfResultToStatus(set, property, errstr);
    }
  }
  // On success rd_kafka_new owns conf; on failure it is still ours.
  rd_kafka_t* handle =
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::UnavailableError(fmt::format(
        "cannot create a librdkafka handle: {}; check librdkafka's install",
        errstr));
  }
  return handle;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MockKafkaCluster>> MockKafkaCluster::Start(
    int brokers) {
  absl::StatusOr<rd_kafka_t*> owner = NewHandle("");
  if (!owner.ok()) return owner.status();
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(*owner, brokers);
  if (cluster == nullptr) {
    rd_kafka_destroy(*owner);
    return absl::UnavailableError(fmt::format(
        "cannot start librdkafka's mock cluster with {} brokers; check that "
        "loopback (127.0.0.1) is available",
        brokers));
  }
  absl::StatusOr<rd_kafka_t*> probe =
      NewHandle(rd_kafka_mock_cluster_bootstraps(cluster));
  if (!probe.ok()) {
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(*owner);
    return probe.status();
  }
  return std::unique_ptr<MockKafkaCluster>(
      new MockKafkaCluster(brokers, *owner, cluster, *probe));
}

MockKafkaCluster::MockKafkaCluster(int brokers, rd_kafka_t* owner,
                                   rd_kafka_mock_cluster_t* cluster,
                                   rd_kafka_t* probe)
    : brokers_(brokers),
      owner_(owner),
      cluster_(cluster),
      probe_(probe),
      bootstrap_(rd_kafka_mock_cluster_bootstraps(cluster)) {}

MockKafkaCluster::~MockKafkaCluster() {
  // The probe first: it is connected to the brokers about to go.
  rd_kafka_destroy(probe_);
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(owner_);
}

absl::Status MockKafkaCluster::CreateTopic(const std::string& topic,
                                           int partitions) {
  const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
      cluster_, topic.c_str(), partitions, std::min(brokers_, 3));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::UnavailableError(
      fmt::format("the mock cluster refused to create topic {} ({} "
                  "partitions): {}; check the topic name and --partitions",
                  topic, partitions, rd_kafka_err2str(err)));
}

absl::Status MockKafkaCluster::SetBrokerRtt(absl::Duration rtt) {
  const auto rtt_ms = static_cast<int>(absl::ToInt64Milliseconds(rtt));
  // The mock numbers its brokers 1..brokers.
  for (int32_t broker = 1; broker <= brokers_; ++broker) {
    const rd_kafka_resp_err_t err =
        rd_kafka_mock_broker_set_rtt(cluster_, broker, rtt_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(fmt::format(
          "the mock cluster refused a round-trip time of {} ms for broker "
          "{}: {}",
          rtt_ms, broker, rd_kafka_err2str(err)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> MockKafkaCluster::MessagesAppended(
    const std::string& topic, int partitions) {
  int64_t total = 0;
  for (int32_t partition = 0; partition < partitions; ++partition) {
    int64_t low = 0;
    int64_t high = 0;
    const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        probe_, topic.c_str(), partition, &low, &high, kQueryTimeoutMs);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return bus::KafkaErrorToStatus(
          err, fmt::format("querying the end offset of {} [{}] on the mock "
                           "cluster",
                           topic, partition));
    }
    total += high;
  }
  return total;
}

}  // namespace crm::bench
