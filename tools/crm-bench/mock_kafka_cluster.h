// MockKafkaCluster: librdkafka's in-process mock cluster (rdkafka_mock.h) on
// loopback, for benchmarks that publish to Kafka.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<MockKafkaCluster> cluster,
//                    MockKafkaCluster::Start(/*brokers=*/3));
//   RETURN_IF_ERROR(cluster->CreateTopic("crm.bench.events.v1", 4));
//   ... produce to cluster->bootstrap() ...
//   ASSIGN_OR_RETURN(int64_t appended,
//                    cluster->MessagesAppended("crm.bench.events.v1", 4));
//
// The mock keeps messages in memory and trims each partition to about
// 5 MiB / 100,000 message sets, dropping the oldest: fine for counting
// deliveries, not for reading a large topic back. Its brokers run on a thread
// of this process, so they share the CPU with whatever is measured.
//
// Thread safety: the methods may be called from any thread, not
// concurrently with the destructor.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace crm::bench {

class MockKafkaCluster {
 public:
  // Starts `brokers` mock brokers on 127.0.0.1 at ports of the kernel's
  // choosing. Errors: UNAVAILABLE when librdkafka cannot start them.
  static absl::StatusOr<std::unique_ptr<MockKafkaCluster>> Start(int brokers);

  MockKafkaCluster(const MockKafkaCluster&) = delete;
  MockKafkaCluster& operator=(const MockKafkaCluster&) = delete;
  ~MockKafkaCluster();

  // "127.0.0.1:port,..." for bootstrap.servers.
  const std::string& bootstrap() const { return bootstrap_; }

  // Creates `topic` with `partitions` partitions, replicated to
  // min(brokers, 3) brokers. Errors: UNAVAILABLE when the mock refuses.
  absl::Status CreateTopic(const std::string& topic, int partitions);

  // Makes every broker delay its responses by `rtt` (librdkafka's
  // rd_kafka_mock_broker_set_rtt), to stand in for a network.
  // Errors: UNAVAILABLE when the mock refuses.
  absl::Status SetBrokerRtt(absl::Duration rtt);

  // The sum of the high watermarks of partitions 0..partitions-1 of `topic`:
  // how many messages were ever appended to it (trimming does not lower it).
  // Errors: from librdkafka's watermark query (kafka_status.h).
  absl::StatusOr<int64_t> MessagesAppended(const std::string& topic,
                                           int partitions);

 private:
  MockKafkaCluster(int brokers, rd_kafka_t* owner,
                   rd_kafka_mock_cluster_t* cluster, rd_kafka_t* probe);

  const int brokers_;
  rd_kafka_t* const owner_;  // The handle the mock cluster belongs to.
  rd_kafka_mock_cluster_t* const cluster_;
  rd_kafka_t* const probe_;  // Connected to the cluster, for queries.
  const std::string bootstrap_;
};

}  // namespace crm::bench
