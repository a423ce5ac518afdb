// The store's errors, built in one place so codes and messages stay the same
// everywhere.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "crm/eventstore/expected_version.h"
#include "crm/eventstore/rocksdb_status.h"

namespace crm::eventstore::internal {

// ABORTED, carrying `actual` for ActualVersion().
absl::Status WrongExpectedVersion(std::string_view stream,
                                  ExpectedVersion expected, uint64_t actual);

// FAILED_PRECONDITION, recognised by IsStreamDeleted().
absl::Status StreamDeleted(std::string_view stream,
                           uint64_t deleted_at_version);

// NOT_FOUND.
absl::Status StreamNotFound(std::string_view stream);

}  // namespace crm::eventstore::internal
