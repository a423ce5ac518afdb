// RelayCursor: the relay's durable cursor in the store's "bus_relay" column
// family: key = topic, value = the last published global position as 8 bytes,
// big-endian (docs/storage-format.md style). Internal to libs/bus.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/eventstore/event_store.h"

namespace crm::bus {

class RelayCursor {
 public:
  // Creates the column family if needed.
  // Errors: UNAVAILABLE when it cannot be created.
  static absl::StatusOr<RelayCursor> Open(eventstore::EventStore& store,
                                          std::string topic);

  // The stored position; 0 when none is stored.
  // Errors: UNAVAILABLE when the read fails; DATA_LOSS for a value that is
  // not 8 bytes.
  absl::StatusOr<uint64_t> Load() const;

  // Stores `position`, synced. Errors: UNAVAILABLE when the write fails.
  absl::Status Store(uint64_t position);

 private:
  RelayCursor(eventstore::EventStore& store, rocksdb::ColumnFamilyHandle* cf,
              std::string topic)
      : store_(&store), cf_(cf), topic_(std::move(topic)) {}

  eventstore::EventStore* store_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::string topic_;
};

}  // namespace crm::bus
