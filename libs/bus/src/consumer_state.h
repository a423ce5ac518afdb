// ConsumerState: a consumer's durable state in the column family
// "bus_consumer" of the consuming store (docs/storage-format.md, "Consumer
// state"). Every key starts with a kind byte, the consumer group and the
// source topic:
//
//   'o' group 0x00 topic 0x00 partition(u32 BE)         -> cursor (16 bytes)
//   'p' group 0x00 topic 0x00 stream                    -> ParkedStreamRecord
//   'q' group 0x00 topic 0x00 len(u32 BE) stream offset(u64 BE)
//                                                       -> ConsumedMessage
//   'd' group 0x00 topic 0x00 partition(u32 BE) offset(u64 BE)
//                                                       -> DeadLetterRecord
//
// A cursor is the next offset to consume and the highest global position
// applied from the partition (both u64 BE). Internal to libs/bus.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/bus/internal/v1/consumer_records.pb.h"
#include "crm/eventstore/event_store.h"
#include "rocksdb/utilities/write_batch_with_index.h"

namespace crm::bus {

namespace records = ::crm::bus::internal::v1;

struct PartitionCursor {
  int64_t next_offset = 0;  // 0 with nothing consumed yet.
  uint64_t high_water = 0;  // Highest global position applied.
};

class ConsumerState {
 public:
  // Creates the column family if needed.
  // Errors: UNAVAILABLE when it cannot be created.
  static absl::StatusOr<ConsumerState> Open(eventstore::EventStore& store,
                                            std::string group);

  rocksdb::ColumnFamilyHandle& family() const { return *family_; }
  rocksdb::DB& db() const { return *db_; }
  const std::string& group() const { return group_; }

  // The stored cursor; nullopt when none is stored.
  // Errors: UNAVAILABLE; DATA_LOSS for a malformed value.
  absl::StatusOr<std::optional<PartitionCursor>> LoadCursor(
      std::string_view topic, int32_t partition) const;
  void StageCursor(rocksdb::WriteBatchWithIndex& batch, std::string_view topic,
                   int32_t partition, const PartitionCursor& cursor) const;

  // The parked record of `stream`, staged writes first; nullopt when the
  // stream is not parked. Errors: UNAVAILABLE; DATA_LOSS.
  absl::StatusOr<std::optional<records::ParkedStreamRecord>> LoadParked(
      rocksdb::WriteBatchWithIndex* batch, std::string_view topic,
      std::string_view stream) const;
  void StageParked(rocksdb::WriteBatchWithIndex& batch, std::string_view topic,
                   std::string_view stream,
                   const records::ParkedStreamRecord& record) const;
  void StageUnparked(rocksdb::WriteBatchWithIndex& batch,
                     std::string_view topic, std::string_view stream) const;

  void StageParkedMessage(rocksdb::WriteBatchWithIndex& batch,
                          std::string_view topic,
                          const records::ConsumedMessage& message) const;
  void StageParkedMessageDone(rocksdb::WriteBatchWithIndex& batch,
                              std::string_view topic,
                              const records::ConsumedMessage& message) const;
  // Up to `max_count` parked messages of `stream`, in offset order.
  absl::StatusOr<std::vector<records::ConsumedMessage>> LoadParkedMessages(
      std::string_view topic, std::string_view stream, size_t max_count) const;

  // Parked streams of every topic, in (topic, stream) order, after the given
  // pair (both empty = from the first).
  struct ParkedEntry {
    std::string topic;
    std::string stream;
    records::ParkedStreamRecord record;
  };
  absl::StatusOr<std::vector<ParkedEntry>> ListParked(
      size_t max_count, std::string_view after_topic,
      std::string_view after_stream) const;
  // How many streams are parked (a full scan of the group's parked keys).
  absl::StatusOr<uint64_t> CountParked() const;

  void StageDeadLetter(rocksdb::WriteBatchWithIndex& batch,
                       const records::DeadLetterRecord& record) const;
  std::string DeadLetterKey(const records::DeadLetterRecord& record) const;
  // Dead letters not yet published, oldest partition/offset first.
  absl::StatusOr<std::vector<std::pair<std::string, records::DeadLetterRecord>>>
  LoadDeadLetters(size_t max_count) const;

 private:
  ConsumerState(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family,
                std::string group)
      : db_(&db), family_(&family), group_(std::move(group)) {}

  std::string Prefix(char kind, std::string_view topic) const;

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* family_;
  std::string group_;
};

}  // namespace crm::bus
