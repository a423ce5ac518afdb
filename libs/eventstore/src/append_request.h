// Checks and normalises an append in the caller's thread, before it joins a
// commit group, so the committing thread does as little as possible.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/eventstore/event_store.h"

namespace crm::eventstore::internal {

// An append ready to commit: its events flattened in commit order, each
// stream's share of them, and the request's idempotency fingerprint.
struct PreparedAppend {
  struct Part {
    std::string stream;
    ExpectedVersion expected_version = ExpectedVersion::Any();
    size_t begin = 0;  // Index of the part's first event in `events`.
    size_t end = 0;    // One past its last.
  };
  std::vector<Part> parts;
  std::vector<Envelope> events;
  std::string request_id;
  std::string fingerprint;  // Empty when request_id is.
  size_t bytes = 0;         // Approximate encoded size of all events.
};

// Validates `streams` and `request_id` against the limits in `options` (see
// EventStore::AppendMulti for the errors), sets each event's stream, a new
// event_id where it is empty, and schema_version 1 where it is 0.
absl::StatusOr<PreparedAppend> PrepareAppend(
    std::vector<StreamAppend> streams, std::string_view request_id,
    const EventStore::Options& options);

// INVALID_ARGUMENT unless `stream` is 1 to max_bytes bytes with no control
// characters.
absl::Status ValidateStreamName(std::string_view stream, size_t max_bytes);

}  // namespace crm::eventstore::internal
