#include "relay_cursor.h"

#include <utility>

#include "big_endian.h"
#include "crm/base/status_macros.h"
#include "crm/bus/outbox_relay.h"
#include "fmt/format.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace crm::bus {

absl::StatusOr<RelayCursor> RelayCursor::Open(eventstore::EventStore& store,
                                              std::string topic) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf,
                   store.CreateColumnFamily(kRelayColumnFamily));
  return RelayCursor(store, cf, std::move(topic));
}

absl::StatusOr<uint64_t> RelayCursor::Load() const {
  std::string value;
  const rocksdb::Status status =
      store_->db().Get(rocksdb::ReadOptions(), cf_, topic_, &value);
  if (status.IsNotFound()) return 0;
  if (!status.ok()) {
    return absl::UnavailableError(fmt::format(
        "cannot read the relay cursor of {} from column family {}: {}; check "
        "the store's disk",
        topic_, kRelayColumnFamily, status.ToString()));
  }
  if (value.size() != 8) {
    return absl::DataLossError(fmt::format(
        "the relay cursor of {} is {} bytes, not 8; delete key {} from "
        "column family {} to republish from the beginning",
        topic_, value.size(), topic_, kRelayColumnFamily));
  }
  return GetBigEndian(value);
}

absl::Status RelayCursor::Store(uint64_t position) {
  std::string value;
  PutBigEndian(value, position, 8);
  rocksdb::WriteBatch batch;
  const rocksdb::Status status = batch.Put(cf_, topic_, value);
  if (!status.ok()) {
    return absl::InternalError(fmt::format(
        "cannot build the relay cursor write: {}", status.ToString()));
  }
  return store_->Write(batch);
}

}  // namespace crm::bus
