// The one adapter from rocksdb::Status to absl::Status, for the event store
// and for every library that keeps data in its RocksDB instance.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace rocksdb {
class Status;
}

namespace crm::eventstore {

// Converts a RocksDB status; `what` says what was being done ("reading
// stream 'x'") and appears in the message. OK stays OK. I/O errors (with
// advice for a full disk or a locked directory), busy and other transient
// errors become UNAVAILABLE; corruption becomes DATA_LOSS; NotFound becomes
// NOT_FOUND; invalid arguments and unsupported operations become
// FAILED_PRECONDITION.
absl::Status FromRocksDb(const rocksdb::Status& status, std::string_view what);

}  // namespace crm::eventstore
