// MessageSource: where a consumer's messages come from — a Kafka consumer
// group (kafka_source.h) or publishers' event stores in this process
// (embedded_bus.cc). Internal to libs/bus.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/bus/consumer.h"

namespace crm::bus {

struct SourceMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;    // The stream.
  std::string value;  // The serialized envelope.
};

// What the source asks of the consumer, on the consumer's thread (inside
// Poll).
class SourceListener {
 public:
  virtual ~SourceListener() = default;
  // The offset to start `partition` of `topic` at, as stored with the
  // consumer's effects; 0 when nothing is stored (from the beginning).
  virtual absl::StatusOr<int64_t> StartOffset(const std::string& topic,
                                              int32_t partition) = 0;
  // The partition is no longer this consumer's; messages of it returned
  // before were all handled and committed.
  virtual void Revoked(const std::string& topic, int32_t partition) = 0;
};

class MessageSource {
 public:
  virtual ~MessageSource() = default;

  // Waits up to `timeout` for messages and appends up to `max_count` to
  // `out` (cleared first), in partition order. Calls the listener for
  // assignment changes before returning messages of a new partition; never
  // returns messages of a partition revoked meanwhile. Errors are recorded
  // in last_error() rather than returned when the source retries by itself.
  virtual absl::Status Poll(absl::Duration timeout, size_t max_count,
                            std::vector<SourceMessage>& out) = 0;

  // Restarts every assigned partition at the listener's StartOffset (after
  // a batch failed to commit, so its messages are read again).
  virtual void Rewind() = 0;

  // After the messages up to these next offsets committed with their
  // effects (Kafka: also committed to the group, for monitoring tools).
  virtual void Committed(const std::vector<PartitionLag>& positions) = 0;

  // The end of the partition (the offset the next message will get), or -1
  // when not known. Thread-safe. `fresh` asks the source (Kafka: the
  // partition leader, which may block up to a few seconds) rather than
  // taking the last value seen while fetching.
  virtual int64_t HighWatermark(const std::string& topic, int32_t partition,
                                bool fresh = false) const = 0;

  // The latest transport error, OK when none. Thread-safe.
  virtual absl::Status last_error() const = 0;

  // Makes a waiting Poll return soon. Thread-safe.
  virtual void Wake() = 0;
};

}  // namespace crm::bus
