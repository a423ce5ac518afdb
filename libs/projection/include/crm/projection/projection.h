// Projections: read models folded from a service's event log.
//
// A projection has a name, a version and an Apply function. Each version
// keeps its state in its own RocksDB column family of the service's event
// store, and its checkpoint (the global position it has applied up to)
// commits in the same WriteBatch as the state it wrote, so after any crash
// every event has been applied exactly once.
//
//   class ContactsByEmail final : public Projection {
//    public:
//     std::string name() const override { return "contacts_by_email"; }
//     uint32_t version() const override { return 2; }
//     absl::Status Apply(const Envelope& event,
//                        ProjectionWriter& writer) override {
//       ... writer.Put(email, contact_id) ...
//     }
//   };
//
//   ASSIGN_OR_RETURN(auto engine, ProjectionEngine::Start(store,
//   std::move(projections))); ASSIGN_OR_RETURN(auto view,
//   engine->View("contacts_by_email"));
//   ASSIGN_OR_RETURN(std::optional<std::string> id, view->Get(email));
//
// Versions and blue/green rebuilds: when the code's version of a projection
// differs from the one serving (recorded in the store), the engine builds the
// new version from the beginning of the log beside the old one, which keeps
// serving reads; once the new one has caught up with the log the engine swaps
// them atomically and drops the old one. A restart in the middle of a build
// resumes it from its checkpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/common/v1/event_envelope.pb.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace crm::eventstore {
class EventStore;
}

namespace crm::projection {

using Envelope = ::crm::common::v1::EventEnvelope;

// What Apply writes through: the projection's own column family, staged for
// the batch that will commit with the checkpoint. Reads see the writes staged
// earlier in the same batch. Not thread-safe.
class ProjectionWriter {
 public:
  // The staged writes: the last value of each key (nullopt = deleted), in
  // key order.
  using Writes = std::map<std::string, std::optional<std::string>, std::less<>>;

  ProjectionWriter(rocksdb::DB& db, rocksdb::ColumnFamilyHandle& family)
      : db_(db), family_(family) {}

  // The value of `key`, or nullopt when there is none.
  // Errors: UNAVAILABLE or DATA_LOSS when the store cannot be read.
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const;
  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);

  const Writes& writes() const { return writes_; }

 private:
  rocksdb::DB& db_;
  rocksdb::ColumnFamilyHandle& family_;
  Writes writes_;
};

class Projection {
 public:
  virtual ~Projection() = default;

  // Stable identifier: 1 to 64 characters of [a-z0-9_].
  virtual std::string name() const = 0;

  // From 1. A new version is built from the whole log beside the old one.
  virtual uint32_t version() const = 0;

  // Applies one event (of any type; ignore those that do not matter). Must
  // be deterministic: the same events give the same state, so a rebuild
  // equals the live state. An error stops this projection version (its
  // status says why) until the process restarts with a fix; the state and
  // checkpoint stay at the last good batch.
  virtual absl::Status Apply(const Envelope& event,
                             ProjectionWriter& writer) = 0;
};

// A consistent, read-only view of the serving version of a projection: a
// RocksDB snapshot, so every read of one view sees the same state. Cheap to
// create; hold it only for the reads of one request (it pins the snapshot
// and, after a swap, the old version's column family). Thread-safe.
// REQUIRES: released before the engine and the store are destroyed.
class ProjectionView {
 public:
  virtual ~ProjectionView() = default;

  // The value of `key`, or nullopt. Errors: UNAVAILABLE or DATA_LOSS.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      std::string_view key) const = 0;

  // Up to max_count entries whose keys start with `prefix`, in key order,
  // after the key `start_after` (empty = from the first).
  // Errors: INVALID_ARGUMENT for max_count 0; UNAVAILABLE or DATA_LOSS.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(
      std::string_view prefix, std::string_view start_after,
      size_t max_count) const = 0;

  // The serving version, and the global position its state reflects.
  virtual uint32_t version() const = 0;
  virtual uint64_t position() const = 0;
};

enum class ProjectionState {
  kBuilding,    // Not serving yet: catching up on the log for the first time.
  kCatchingUp,  // Serving, behind the log by more than one batch.
  kLive,        // Serving, caught up with the log.
  kFailed,      // Apply failed; see ProjectionStatus::error.
};

std::string_view ProjectionStateName(ProjectionState state);

struct ProjectionStatus {
  std::string name;
  // The version serving reads; 0 when none has been built yet.
  uint32_t serving_version = 0;
  uint64_t serving_position = 0;
  // The version of the code; equal to serving_version unless a rebuild runs.
  uint32_t target_version = 0;
  uint64_t target_position = 0;
  bool rebuilding = false;  // A new version builds beside the serving one.
  ProjectionState state = ProjectionState::kBuilding;
  uint64_t log_position = 0;  // The store's last position.
  uint64_t lag = 0;           // log_position - target_position.
  absl::Status error;         // Why the state is kFailed.
};

// Runs a store's projections, each version in a background thread that
// follows the log from its checkpoint. Thread-safe.
class ProjectionEngine {
 public:
  struct Options {
    // Most events applied in one batch (one RocksDB write). Larger batches
    // rebuild faster (repeated keys are written once per batch) and hold
    // more events in memory while catching up. Default: 4096.
    size_t batch_events = 4096;
    // How long a caught-up projection waits for new events before checking
    // for a stop. Default: 100 ms.
    absl::Duration poll_interval = absl::Milliseconds(100);
  };

  // Starts one runner per projection and returns at once; projections catch
  // up in the background (see Status and WaitForPosition).
  // REQUIRES: `store` outlives the engine.
  // Errors: INVALID_ARGUMENT for a bad name or version 0, two projections
  // with the same name, or Options with batch_events 0; UNAVAILABLE when the
  // store cannot be read or written.
  static absl::StatusOr<std::unique_ptr<ProjectionEngine>> Start(
      eventstore::EventStore& store,
      std::vector<std::unique_ptr<Projection>> projections, Options options);
  static absl::StatusOr<std::unique_ptr<ProjectionEngine>> Start(
      eventstore::EventStore& store,
      std::vector<std::unique_ptr<Projection>> projections) {
    return Start(store, std::move(projections), Options());
  }

  // Stops the runners (each finishes its current batch) and returns.
  virtual ~ProjectionEngine() = default;

  // A view of the serving version of `name`.
  // Errors: NOT_FOUND for an unknown name; UNAVAILABLE while its first
  // version is still being built (the message says how far it is).
  virtual absl::StatusOr<std::shared_ptr<const ProjectionView>> View(
      std::string_view name) const = 0;

  // Waits until the serving version of `name` reflects the log up to
  // `position` (read-your-writes: pass the position a write returned).
  // Errors: NOT_FOUND for an unknown name; DEADLINE_EXCEEDED when `timeout`
  // passes first; FAILED_PRECONDITION when the projection has failed.
  virtual absl::Status WaitForPosition(std::string_view name, uint64_t position,
                                       absl::Duration timeout) const = 0;

  // One entry per projection name, in name order.
  virtual std::vector<ProjectionStatus> Status() const = 0;
};

}  // namespace crm::projection
