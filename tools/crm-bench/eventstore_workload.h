// The event store work that the eventstore benchmarks time: appends to
// Zipf-chosen streams, filling a store, reading the whole log and catching
// up a subscription, each checked for the store's promises on the way
// (contiguous positions, every event delivered once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"
#include "latency_recorder.h"
#include "payload_pool.h"
#include "zipf.h"

namespace crm::bench {

inline constexpr char kEventType[] = "bench.Event";

// What every append of a benchmark looks like.
struct AppendShape {
  size_t payload_bytes = 256;
  size_t events_per_append = 1;
};

// Where appends go and what they carry. Shared read-only by all writers.
struct Workload {
  const ZipfSampler* streams = nullptr;
  const PayloadPool* payloads = nullptr;
};

// "bench-<rank>".
std::string StreamName(size_t rank);

// Opens (or creates) the store at `path` with default options but `sync`.
absl::StatusOr<std::unique_ptr<eventstore::EventStore>> OpenStore(
    const std::string& path, bool sync);

// Appends shape.events_per_append events of type kEventType with random
// payloads to one Zipf-chosen stream, with ExpectedVersion::Any().
// Returns the number of events appended.
absl::StatusOr<uint64_t> AppendToRandomStream(eventstore::EventStore& store,
                                              const Workload& workload,
                                              const AppendShape& shape,
                                              std::mt19937_64& rng);

// Appends `events` events to Zipf-chosen streams, up to
// shape.events_per_append per AppendMulti (grouped by stream), and checks
// that LastPosition() is then `events`. REQUIRES: the store is empty.
absl::Status FillStore(eventstore::EventStore& store, uint64_t events,
                       const Workload& workload, const AppendShape& shape);

// Waits until RocksDB runs no flush or compaction and has none pending, or
// `timeout` passes (then logs it and returns: the benchmark goes on).
void WaitForQuiescence(eventstore::EventStore& store, absl::Duration timeout);

struct ReadRun {
  uint64_t events = 0;
  absl::Duration elapsed;
  LatencyRecorder page_latency;  // One sample per ReadAll or Next call.
};

// Reads the whole log with ReadAll pages of `page_events` from position 1,
// checking that positions run 1, 2, ... LastPosition() without a gap.
absl::StatusOr<ReadRun> ReadWholeLog(const eventstore::EventStore& store,
                                     size_t page_events);

// Subscribes from position 1 (max_batch_events = `page_events`) and calls
// Next until every event up to LastPosition() was delivered, checking order.
absl::StatusOr<ReadRun> CatchUpSubscription(eventstore::EventStore& store,
                                            size_t page_events);

}  // namespace crm::bench
