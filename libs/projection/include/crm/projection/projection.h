// Projections: read models folded from an event log.
//
// A projection has a name, a version and an Apply function. Each version
// keeps its state in its own RocksDB column family of the service's event
// store, and its checkpoint (where it has read its source up to) commits in
// the same WriteBatch as the state it wrote, so after any crash every event
// has been applied exactly once.
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
//   ASSIGN_OR_RETURN(auto engine,
//                    ProjectionEngine::Start(store, std::move(projections)));
//   ASSIGN_OR_RETURN(auto view, engine->View("contacts_by_email"));
//   ASSIGN_OR_RETURN(std::optional<std::string> id, view->Get(email));
//
// Sources: by default an engine follows the store's own log; with
// Options::source it follows any EventSource (event_feed.h), e.g. another
// service's Kafka topic. One store may run several engines (say one over
// its own log and one over a topic) as long as their projection names
// differ.
//
// Versions and blue/green rebuilds: when the code's version of a projection
// differs from the one serving (recorded in the store), the engine builds the
// new version from the beginning of the source beside the old one, which
// keeps serving reads; once the new one has caught up with the source the
// engine swaps them atomically and drops the old one. A restart in the
// middle of a build resumes it from its checkpoint.
#pragma once

#include <cstddef>
#include <cstdint>
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
#include "crm/projection/event_feed.h"

namespace crm::eventstore {
class EventStore;
}

namespace crm::projection {

// What Apply writes through: the projection version's own column family.
// Writes are staged and committed in one RocksDB WriteBatch with the
// checkpoint of the events that caused them; reads see every write staged
// earlier, committed or not. Valid only during the Apply call it is given
// to; not thread-safe.
class ProjectionWriter {
 public:
  virtual ~ProjectionWriter() = default;

  // The value of `key`, or nullopt when there is none.
  // Errors: UNAVAILABLE or DATA_LOSS when the store cannot be read.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      std::string_view key) const = 0;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
};

class Projection {
 public:
  virtual ~Projection() = default;

  // Stable identifier: 1 to 64 characters of [a-z0-9_].
  virtual std::string name() const = 0;

  // From 1. A new version is built from the whole source beside the old
  // one.
  virtual uint32_t version() const = 0;

  // Applies one event (of any type; ignore those that do not matter). Must
  // be deterministic: the same events give the same state, so a rebuild
  // equals the live state. An error stops this projection version (its
  // status says why) until the process restarts with a fix; the state and
  // checkpoint stay at the last committed batch. Called from the version's
  // runner thread only.
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
  kBuilding,    // Not serving yet: catching up on the source for the first
                // time (also while a new version builds beside a serving one).
  kCatchingUp,  // Serving, behind the source, or retrying an unreadable
                // source (ProjectionStatus::error says why).
  kLive,        // Serving, caught up with the source.
  kFailed,      // Apply, the store or the source failed for good; see
                // ProjectionStatus::error.
};

std::string_view ProjectionStateName(ProjectionState state);

// Positions are global positions of the source's log (for the local source,
// the store's; for a Kafka topic, those of the publishing service's log
// carried in the envelopes).
struct ProjectionStatus {
  std::string name;
  // The version serving reads; 0 when none has been built yet.
  uint32_t serving_version = 0;
  uint64_t serving_position = 0;
  // The version of the code; equal to serving_version unless a rebuild runs.
  uint32_t target_version = 0;
  uint64_t target_position = 0;  // The position it has committed up to.
  bool rebuilding = false;       // A new version builds beside the serving one.
  ProjectionState state = ProjectionState::kBuilding;
  // The end of the source as the target's feed last saw it: its Position()
  // plus its Lag() (for the local source, the store's last position then).
  uint64_t log_position = 0;
  uint64_t lag = 0;  // log_position - target_position.
  // Why the state is kFailed; or, in another state, the last error of an
  // unreadable source that the engine is retrying (OK once it reads again).
  absl::Status error;
  std::string source;  // EventSource::Describe().
};

// Runs a store's projections in background threads that follow the source
// from the projections' checkpoints: the versions at one checkpoint share
// one thread, one read of the source and one RocksDB write per batch; a
// version built beside them (a rebuild) reads on its own until it has
// caught up, then joins them. Thread-safe.
class ProjectionEngine {
 public:
  struct Options {
    // Where the events come from. Default (nullptr): LocalLogSource of the
    // store the engine runs on.
    std::shared_ptr<EventSource> source = nullptr;
    // Most events one read of the source returns. Serving versions commit
    // after each read (one RocksDB write for all the versions sharing the
    // read); larger reads catch up faster and hold more events in memory.
    // Default: 4096.
    size_t batch_events = 4096;
    // While a version builds and serves no reads yet, the writes of several
    // reads are staged in memory and committed together once they reach
    // this many bytes (or the source is caught up or idle): a key written
    // again and again is written once, which makes rebuilds much faster.
    // The cost is memory, up to this much plus one read's events, and the
    // work a crash loses (the build resumes from its last commit).
    // batch_events bytes or fewer makes every read its own commit.
    // Default: 32 MiB.
    size_t build_batch_bytes = 32 << 20;
    // Read the source on a second thread per runner, one read ahead of the
    // runner applying the previous one: rebuilds and catching up use two
    // cores. Default: true.
    bool read_ahead = true;
    // Threads (the runner's own included) that apply a large read (256
    // events or more: catching up, rebuilding, bulk writes) to the
    // projections sharing it in parallel, each projection on one thread.
    // Smaller reads are applied on the runner's thread. 1 applies every
    // read on the runner's thread. Default (0): the machine's hardware
    // threads, at most 8.
    size_t apply_threads = 0;
    // How long a caught-up projection waits for new events before checking
    // for a stop. Default: 100 ms.
    absl::Duration poll_interval = absl::Milliseconds(100);
    // A source that cannot be read (UNAVAILABLE) is retried after 10 ms,
    // then after twice as long each time, up to this. Default: 5 s.
    absl::Duration max_retry_delay = absl::Seconds(5);
  };

  // Starts one runner per distinct checkpoint of the projections and
  // returns at once; projections catch up in the background (see Status
  // and WaitForPosition).
  // REQUIRES: `store` (and options.source) outlive the engine.
  // Errors: INVALID_ARGUMENT for a bad name or version 0, two projections
  // with the same name, or Options with batch_events 0; FAILED_PRECONDITION
  // when another live engine on the same store runs a projection of the
  // same name; UNAVAILABLE when the store cannot be read or written.
  static absl::StatusOr<std::unique_ptr<ProjectionEngine>> Start(
      eventstore::EventStore& store,
      std::vector<std::unique_ptr<Projection>> projections, Options options);
  static absl::StatusOr<std::unique_ptr<ProjectionEngine>> Start(
      eventstore::EventStore& store,
      std::vector<std::unique_ptr<Projection>> projections) {
    return Start(store, std::move(projections), Options());
  }

  // Stops the runners and returns. Events applied but not committed yet are
  // read again by the next engine.
  virtual ~ProjectionEngine() = default;

  // A view of the serving version of `name`.
  // Errors: NOT_FOUND for an unknown name; UNAVAILABLE while its first
  // version is still being built (the message says how far it is).
  virtual absl::StatusOr<std::shared_ptr<const ProjectionView>> View(
      std::string_view name) const = 0;

  // Waits until the serving version of `name` reflects its source up to
  // global position `position` (read-your-writes: pass the position a write
  // returned). For a source that is not in global-position order (a Kafka
  // topic with several partitions), a version is at `position` when it has
  // applied some event at or past it.
  // Errors: NOT_FOUND for an unknown name; DEADLINE_EXCEEDED when `timeout`
  // passes first; FAILED_PRECONDITION when the projection has failed.
  virtual absl::Status WaitForPosition(std::string_view name, uint64_t position,
                                       absl::Duration timeout) const = 0;

  // One entry per projection name, in name order.
  virtual std::vector<ProjectionStatus> Status() const = 0;
};

}  // namespace crm::projection
