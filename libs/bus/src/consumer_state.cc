#include "consumer_state.h"

#include <utility>

#include "big_endian.h"
#include "crm/base/status_macros.h"
#include "crm/bus/consumer.h"
#include "crm/eventstore/rocksdb_status.h"
#include "fmt/format.h"
#include "rocksdb/db.h"

namespace crm::bus {
namespace {

using eventstore::FromRocksDb;

template <typename Record>
absl::StatusOr<Record> Parse(std::string_view bytes, std::string_view what) {
  Record record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(fmt::format(
        "the {} in column family {} is corrupt; restore the store from a "
        "backup or rebuild the consumer's state",
        what, kConsumerColumnFamily));
  }
  return record;
}

// Visits the entries whose keys start with `prefix`, from `start` (at least
// the prefix), until `visit` returns false.
template <typename Visit>
absl::Status ScanPrefix(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family,
                        const std::string& prefix, const std::string& start,
                        Visit visit) {
  std::unique_ptr<rocksdb::Iterator> it(
      db.NewIterator(rocksdb::ReadOptions(), &family));
  for (it->Seek(start); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix)) break;
    ASSIGN_OR_RETURN(bool more, visit(key, it->value().ToStringView()));
    if (!more) break;
  }
  return FromRocksDb(it->status(), "scanning the consumer state");
}

}  // namespace

absl::StatusOr<ConsumerState> ConsumerState::Open(eventstore::EventStore& store,
                                                  std::string group) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * family,
                   store.CreateColumnFamily(kConsumerColumnFamily));
  return ConsumerState(store.db(), *family, std::move(group));
}

std::string ConsumerState::Prefix(char kind, std::string_view topic) const {
  std::string prefix;
  prefix.reserve(group_.size() + topic.size() + 3);
  prefix.push_back(kind);
  prefix.append(group_);
  prefix.push_back('\0');
  prefix.append(topic);
  prefix.push_back('\0');
  return prefix;
}

absl::StatusOr<std::optional<PartitionCursor>> ConsumerState::LoadCursor(
    std::string_view topic, int32_t partition) const {
  std::string key = Prefix('o', topic);
  PutBigEndian(key, static_cast<uint32_t>(partition), 4);
  std::string value;
  const rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), family_, key, &value);
  if (status.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocksDb(status, "reading a consumer's offset"));
  if (value.size() != 16) {
    return absl::DataLossError(fmt::format(
        "the stored offset of consumer group {} for {} partition {} is {} "
        "bytes, not 16; the consumer's state is corrupt: rebuild it",
        group_, topic, partition, value.size()));
  }
  return PartitionCursor{
      .next_offset = static_cast<int64_t>(GetBigEndian(value.substr(0, 8))),
      .high_water = GetBigEndian(std::string_view(value).substr(8))};
}

void ConsumerState::StageCursor(rocksdb::WriteBatchWithIndex& batch,
                                std::string_view topic, int32_t partition,
                                const PartitionCursor& cursor) const {
  std::string key = Prefix('o', topic);
  PutBigEndian(key, static_cast<uint32_t>(partition), 4);
  std::string value;
  PutBigEndian(value, static_cast<uint64_t>(cursor.next_offset), 8);
  PutBigEndian(value, cursor.high_water, 8);
  batch.Put(family_, key, value);
}

absl::StatusOr<std::optional<records::ParkedStreamRecord>>
ConsumerState::LoadParked(rocksdb::WriteBatchWithIndex* batch,
                          std::string_view topic,
                          std::string_view stream) const {
  std::string key = Prefix('p', topic);
  key.append(stream);
  std::string value;
  const rocksdb::Status status =
      batch != nullptr ? batch->GetFromBatchAndDB(db_, rocksdb::ReadOptions(),
                                                  family_, key, &value)
                       : db_->Get(rocksdb::ReadOptions(), family_, key, &value);
  if (status.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocksDb(status, "reading a parked stream"));
  return Parse<records::ParkedStreamRecord>(value, "parked stream record");
}

void ConsumerState::StageParked(
    rocksdb::WriteBatchWithIndex& batch, std::string_view topic,
    std::string_view stream, const records::ParkedStreamRecord& record) const {
  std::string key = Prefix('p', topic);
  key.append(stream);
  batch.Put(family_, key, record.SerializeAsString());
}

void ConsumerState::StageUnparked(rocksdb::WriteBatchWithIndex& batch,
                                  std::string_view topic,
                                  std::string_view stream) const {
  std::string key = Prefix('p', topic);
  key.append(stream);
  batch.Delete(family_, key);
}

namespace {
std::string ParkedMessagePrefix(std::string prefix, std::string_view stream) {
  PutBigEndian(prefix, stream.size(), 4);
  prefix.append(stream);
  return prefix;
}
}  // namespace

void ConsumerState::StageParkedMessage(
    rocksdb::WriteBatchWithIndex& batch, std::string_view topic,
    const records::ConsumedMessage& message) const {
  std::string key = ParkedMessagePrefix(Prefix('q', topic), message.key());
  PutBigEndian(key, static_cast<uint64_t>(message.offset()), 8);
  batch.Put(family_, key, message.SerializeAsString());
}

void ConsumerState::StageParkedMessageDone(
    rocksdb::WriteBatchWithIndex& batch, std::string_view topic,
    const records::ConsumedMessage& message) const {
  std::string key = ParkedMessagePrefix(Prefix('q', topic), message.key());
  PutBigEndian(key, static_cast<uint64_t>(message.offset()), 8);
  batch.Delete(family_, key);
}

absl::StatusOr<std::vector<records::ConsumedMessage>>
ConsumerState::LoadParkedMessages(std::string_view topic,
                                  std::string_view stream,
                                  size_t max_count) const {
  const std::string prefix = ParkedMessagePrefix(Prefix('q', topic), stream);
  std::vector<records::ConsumedMessage> messages;
  RETURN_IF_ERROR(ScanPrefix(
      *db_, *family_, prefix, prefix,
      [&](std::string_view, std::string_view value) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(
            messages.emplace_back(),
            Parse<records::ConsumedMessage>(value, "parked message"));
        return messages.size() < max_count;
      }));
  return messages;
}

absl::StatusOr<std::vector<ConsumerState::ParkedEntry>>
ConsumerState::ListParked(size_t max_count, std::string_view after_topic,
                          std::string_view after_stream) const {
  std::string prefix = "p" + group_;
  prefix.push_back('\0');
  std::string start = prefix;
  std::string after_key;
  if (!after_topic.empty()) {
    after_key = Prefix('p', after_topic);
    after_key.append(after_stream);
    start = after_key;
  }
  std::vector<ParkedEntry> entries;
  RETURN_IF_ERROR(ScanPrefix(
      *db_, *family_, prefix, start,
      [&](std::string_view key,
          std::string_view value) -> absl::StatusOr<bool> {
        if (!after_key.empty() && key == after_key) return true;
        const std::string_view rest = key.substr(prefix.size());
        const size_t end = rest.find('\0');
        if (end == std::string_view::npos) {
          return absl::DataLossError(fmt::format(
              "a parked-stream key of consumer group {} has no topic; the "
              "consumer's state is corrupt",
              group_));
        }
        ParkedEntry& entry = entries.emplace_back();
        entry.topic = std::string(rest.substr(0, end));
        entry.stream = std::string(rest.substr(end + 1));
        ASSIGN_OR_RETURN(entry.record, Parse<records::ParkedStreamRecord>(
                                           value, "parked stream record"));
        return entries.size() < max_count;
      }));
  return entries;
}

absl::StatusOr<uint64_t> ConsumerState::CountParked() const {
  std::string prefix = "p" + group_;
  prefix.push_back('\0');
  uint64_t count = 0;
  RETURN_IF_ERROR(ScanPrefix(
      *db_, *family_, prefix, prefix,
      [&](std::string_view, std::string_view) -> absl::StatusOr<bool> {
        ++count;
        return true;
      }));
  return count;
}

std::string ConsumerState::DeadLetterKey(
    const records::DeadLetterRecord& record) const {
  std::string key = Prefix('d', record.source_topic());
  PutBigEndian(key, static_cast<uint32_t>(record.message().partition()), 4);
  PutBigEndian(key, static_cast<uint64_t>(record.message().offset()), 8);
  return key;
}

void ConsumerState::StageDeadLetter(
    rocksdb::WriteBatchWithIndex& batch,
    const records::DeadLetterRecord& record) const {
  batch.Put(family_, DeadLetterKey(record), record.SerializeAsString());
}

absl::StatusOr<std::vector<std::pair<std::string, records::DeadLetterRecord>>>
ConsumerState::LoadDeadLetters(size_t max_count) const {
  std::string prefix = "d" + group_;
  prefix.push_back('\0');
  std::vector<std::pair<std::string, records::DeadLetterRecord>> letters;
  RETURN_IF_ERROR(
      ScanPrefix(*db_, *family_, prefix, prefix,
                 [&](std::string_view key,
                     std::string_view value) -> absl::StatusOr<bool> {
                   auto& [stored_key, record] = letters.emplace_back();
                   stored_key = std::string(key);
                   ASSIGN_OR_RETURN(record, Parse<records::DeadLetterRecord>(
                                                value, "dead letter record"));
                   return letters.size() < max_count;
                 }));
  return letters;
}

}  // namespace crm::bus
