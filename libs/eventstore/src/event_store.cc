// Parts of event_store.h shared by every implementation: the error helpers.
#include "crm/eventstore/event_store.h"

#include <charconv>
#include <string>

#include "absl/strings/cord.h"
#include "errors_internal.h"
#include "fmt/format.h"
#include "rocksdb/status.h"

namespace crm::eventstore {
namespace {

constexpr char kActualVersionPayload[] =
    "type.crm.dev/crm.eventstore.ActualVersion";
constexpr char kStreamDeletedPayload[] =
    "type.crm.dev/crm.eventstore.StreamDeleted";

}  // namespace

absl::StatusOr<AllSlice> EventStore::ReadAll(uint64_t from_position,
                                             size_t max_count) const {
  AllSlice slice;
  absl::Status status = ReadAllInto(from_position, max_count, slice);
  if (!status.ok()) return status;
  return slice;
}

absl::StatusOr<std::vector<Envelope>> Subscription::Next(
    absl::Duration timeout) {
  std::vector<Envelope> batch;
  absl::Status status = NextInto(timeout, batch);
  if (!status.ok()) return status;
  return batch;
}

std::optional<uint64_t> ActualVersion(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kAborted) return std::nullopt;
  absl::optional<absl::Cord> payload = status.GetPayload(kActualVersionPayload);
  if (!payload.has_value()) return std::nullopt;
  std::string text(*payload);
  uint64_t version = 0;
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), version);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return version;
}

bool IsStreamDeleted(const absl::Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition &&
         status.GetPayload(kStreamDeletedPayload).has_value();
}

absl::Status FromRocksDb(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return absl::OkStatus();
  std::string message =
      fmt::format("event store: {} failed: {}", what, status.ToString());
  switch (status.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(message);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(fmt::format(
          "{}; restore the store from a backup or rebuild it from an export",
          message));
    case rocksdb::Status::kInvalidArgument:
    case rocksdb::Status::kNotSupported:
      return absl::FailedPreconditionError(message);
    case rocksdb::Status::kIOError:
      if (status.subcode() == rocksdb::Status::kNoSpace) {
        return absl::UnavailableError(
            fmt::format("{}; free disk space and restart", message));
      }
      if (status.ToString().find("lock") != std::string::npos) {
        return absl::UnavailableError(fmt::format(
            "{}; is another process using this data directory?", message));
      }
      return absl::UnavailableError(message);
    default:
      return absl::UnavailableError(message);
  }
}

namespace internal {

absl::Status WrongExpectedVersion(std::string_view stream,
                                  ExpectedVersion expected, uint64_t actual) {
  absl::Status status = absl::AbortedError(fmt::format(
      "stream '{}' is at version {} but the append expected {}; reload the "
      "stream and decide again, or retry with the new version",
      stream, actual, expected.ToString()));
  status.SetPayload(kActualVersionPayload,
                    absl::Cord(fmt::format("{}", actual)));
  return status;
}

absl::Status StreamDeleted(std::string_view stream,
                           uint64_t deleted_at_version) {
  absl::Status status = absl::FailedPreconditionError(fmt::format(
      "stream '{}' was deleted at version {}; its events remain in the global "
      "log for audit (ReadAll) but it accepts no reads or appends",
      stream, deleted_at_version));
  status.SetPayload(kStreamDeletedPayload, absl::Cord(std::string(stream)));
  return status;
}

absl::Status StreamNotFound(std::string_view stream) {
  return absl::NotFoundError(fmt::format("stream '{}' has no events", stream));
}

}  // namespace internal
}  // namespace crm::eventstore
