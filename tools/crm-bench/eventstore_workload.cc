#include "eventstore_workload.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "crm/base/status_macros.h"
#include "rocksdb/db.h"
#include "run_control.h"

namespace crm::bench {
namespace {

using eventstore::AllSlice;
using eventstore::Envelope;
using eventstore::EventStore;
using eventstore::ExpectedVersion;
using eventstore::StreamAppend;

// How long a caught-up check may wait for the next event before the
// subscription counts as stalled.
constexpr absl::Duration kNextTimeout = absl::Seconds(10);

Envelope MakeEvent(const Workload& workload, size_t payload_bytes,
                   std::mt19937_64& rng) {
  Envelope event;
  event.set_type(kEventType);
  const std::string_view payload = workload.payloads->Take(rng, payload_bytes);
  event.set_payload(payload.data(), payload.size());
  return event;
}

// Checks that `events` carry the global positions first, first + 1, ...
absl::Status CheckPositions(const std::vector<Envelope>& events, uint64_t first,
                            absl::string_view call) {
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].global_position() != first + i) {
      return absl::InternalError(
          absl::StrCat(call, " returned global position ",
                       events[i].global_position(), " where ", first + i,
                       " was due: the store broke its ordering "
                       "promise (a bug in libs/eventstore)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string StreamName(size_t rank) { return absl::StrCat("bench-", rank); }

absl::StatusOr<std::unique_ptr<EventStore>> OpenStore(const std::string& path,
                                                      bool sync) {
  EventStore::Options options;
  options.path = path;
  options.sync = sync;
  return EventStore::Open(std::move(options));
}

absl::StatusOr<uint64_t> AppendToRandomStream(EventStore& store,
                                              const Workload& workload,
                                              const AppendShape& shape,
                                              std::mt19937_64& rng) {
  const size_t rank = workload.streams->Sample(rng);
  std::vector<Envelope> events;
  events.reserve(shape.events_per_append);
  for (size_t i = 0; i < shape.events_per_append; ++i) {
    events.push_back(MakeEvent(workload, shape.payload_bytes, rng));
  }
  ASSIGN_OR_RETURN(eventstore::AppendResult result,
                   store.Append(StreamName(rank), ExpectedVersion::Any(),
                                std::move(events)));
  return result.last_position - result.first_position + 1;
}

absl::Status FillStore(EventStore& store, uint64_t events,
                       const Workload& workload, const AppendShape& shape) {
  std::mt19937_64 rng(0xf111);
  const absl::Time start = absl::Now();
  uint64_t filled = 0;
  uint64_t next_report = events / 10;
  while (filled < events) {
    if (StopRequested()) return absl::CancelledError("stopped by a signal");
    const uint64_t count =
        std::min<uint64_t>(shape.events_per_append, events - filled);
    std::vector<StreamAppend> appends;
    absl::flat_hash_map<size_t, size_t> index_of_rank;
    for (uint64_t i = 0; i < count; ++i) {
      const size_t rank = workload.streams->Sample(rng);
      auto [it, inserted] = index_of_rank.try_emplace(rank, appends.size());
      if (inserted) {
        appends.push_back(
            StreamAppend{StreamName(rank), ExpectedVersion::Any(), {}});
      }
      appends[it->second].events.push_back(
          MakeEvent(workload, shape.payload_bytes, rng));
    }
    ASSIGN_OR_RETURN(eventstore::AppendResult result,
                     store.AppendMulti(std::move(appends)));
    if (result.first_position != filled + 1 ||
        result.last_position != filled + count) {
      return absl::InternalError(absl::StrCat(
          "AppendMulti of ", count, " events to a store of ", filled,
          " events returned positions ", result.first_position, "..",
          result.last_position, " (a bug in libs/eventstore)"));
    }
    filled += count;
    if (filled >= next_report) {
      Log("filled %d of %d events", filled, events);
      next_report += std::max<uint64_t>(events / 10, 1);
    }
  }
  if (store.LastPosition() != events) {
    return absl::InternalError(absl::StrCat(
        "LastPosition() is ", store.LastPosition(), " after appending ", events,
        " events to an empty store (a bug in libs/eventstore)"));
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  Log("filled %d events in %.1f s (%.0f events/s, unsynced)", events, seconds,
      static_cast<double>(events) / seconds);
  return absl::OkStatus();
}

void WaitForQuiescence(EventStore& store, absl::Duration timeout) {
  rocksdb::DB& db = store.db();
  const absl::Time deadline = absl::Now() + timeout;
  while (!StopRequested()) {
    uint64_t total = 0;
    for (const std::string* property :
         {&rocksdb::DB::Properties::kNumRunningFlushes,
          &rocksdb::DB::Properties::kNumRunningCompactions,
          &rocksdb::DB::Properties::kMemTableFlushPending,
          &rocksdb::DB::Properties::kCompactionPending}) {
      uint64_t value = 0;
      if (db.GetAggregatedIntProperty(*property, &value)) total += value;
    }
    if (total == 0) return;
    if (absl::Now() >= deadline) {
      Log("RocksDB still flushing or compacting after %s; measuring anyway",
          absl::FormatDuration(timeout));
      return;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::StatusOr<ReadRun> ReadWholeLog(const EventStore& store,
                                     size_t page_events) {
  const uint64_t last = store.LastPosition();
  ReadRun run;
  uint64_t next = 1;
  const absl::Time start = absl::Now();
  // Reused page after page, as a reader looping over the log should.
  AllSlice slice;
  // Every page holds at least one event, so `last` pages are enough.
  for (uint64_t page = 0; next <= last && page < last; ++page) {
    if (StopRequested()) return absl::CancelledError("stopped by a signal");
    const absl::Time page_start = absl::Now();
    RETURN_IF_ERROR(store.ReadAllInto(next, page_events, slice));
    run.page_latency.Record(absl::Now() - page_start);
    if (slice.events.empty() || slice.events.size() > page_events) {
      return absl::InternalError(absl::StrCat(
          "ReadAll(", next, ", ", page_events, ") returned ",
          slice.events.size(), " events although LastPosition() is ", last,
          " (a bug in libs/eventstore)"));
    }
    RETURN_IF_ERROR(CheckPositions(slice.events, next, "ReadAll"));
    next += slice.events.size();
    run.events += slice.events.size();
    if (slice.next_position != next) {
      return absl::InternalError(absl::StrCat(
          "ReadAll returned next_position ", slice.next_position,
          " after an event at ", next - 1, " (a bug in libs/eventstore)"));
    }
  }
  run.elapsed = absl::Now() - start;
  return run;
}

absl::StatusOr<ReadRun> CatchUpSubscription(EventStore& store,
                                            size_t page_events) {
  eventstore::SubscriptionOptions options;
  options.max_batch_events = page_events;
  const uint64_t last = store.LastPosition();
  ReadRun run;
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(std::unique_ptr<eventstore::Subscription> subscription,
                   store.SubscribeToAll(1, options));
  uint64_t next = 1;
  // Reused batch after batch, as a subscriber looping over the log should.
  std::vector<Envelope> events;
  for (uint64_t batch = 0; next <= last && batch < last; ++batch) {
    if (StopRequested()) return absl::CancelledError("stopped by a signal");
    const absl::Time batch_start = absl::Now();
    RETURN_IF_ERROR(subscription->NextInto(kNextTimeout, events));
    run.page_latency.Record(absl::Now() - batch_start);
    if (events.empty() || events.size() > page_events) {
      return absl::InternalError(absl::StrCat(
          "Subscription::Next returned ", events.size(), " events at position ",
          next, " of ", last, " with max_batch_events ", page_events,
          " (a bug in libs/eventstore)"));
    }
    RETURN_IF_ERROR(CheckPositions(events, next, "Subscription::Next"));
    next += events.size();
    run.events += events.size();
  }
  run.elapsed = absl::Now() - start;
  return run;
}

}  // namespace crm::bench
