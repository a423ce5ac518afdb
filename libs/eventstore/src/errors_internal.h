// The store's errors, built in one place so codes and messages stay the same
// everywhere, and the one adapter from rocksdb::Status to absl::Status.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "crm/eventstore/expected_version.h"

namespace rocksdb {
class Status;
}

namespace crm::eventstore::internal {

// Converts a RocksDB status; `what` says what was being done ("reading
// stream 'x'"). I/O errors, busy and lock errors become UNAVAILABLE;
// corruption becomes DATA_LOSS.
absl::Status FromRocksDb(const rocksdb::Status& status, std::string_view what);

// ABORTED, carrying `actual` for ActualVersion().
absl::Status WrongExpectedVersion(std::string_view stream,
                                  ExpectedVersion expected, uint64_t actual);

// FAILED_PRECONDITION, recognised by IsStreamDeleted().
absl::Status StreamDeleted(std::string_view stream,
                           uint64_t deleted_at_version);

// NOT_FOUND.
absl::Status StreamNotFound(std::string_view stream);

}  // namespace crm::eventstore::internal
