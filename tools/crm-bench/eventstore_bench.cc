#include "eventstore_bench.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "crm/base/status_macros.h"
#include "crm/eventstore/event_store.h"
#include "eventstore_workload.h"
#include "killed_child.h"
#include "payload_pool.h"
#include "rocksdb_ceiling.h"
#include "run_control.h"
#include "scratch_dir.h"
#include "timed_writers.h"
#include "zipf.h"

namespace crm::bench {
namespace {

using eventstore::EventStore;

// Events per AppendMulti when filling the read and recovery stores.
constexpr size_t kFillEventsPerAppend = 1000;
// Append measurements alternate between the store and its ceiling in slices
// of about this length, at most kMaxRounds rounds of two slices.
constexpr double kSliceSeconds = 0.5;
constexpr int kMaxRounds = 20;
// Bounds on the waits between measurements.
constexpr absl::Duration kQuiescenceTimeout = absl::Minutes(5);
constexpr absl::Duration kMinFillTimeout = absl::Minutes(10);

double PerSecond(uint64_t count, absl::Duration elapsed) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

// 5 rather than 5.0 when the seconds are whole.
nlohmann::ordered_json SecondsJson(double seconds) {
  if (seconds == std::floor(seconds)) return static_cast<int64_t>(seconds);
  return seconds;
}

void Accumulate(const TimedRun& slice, TimedRun& total) {
  total.events += slice.events;
  total.calls += slice.calls;
  total.elapsed += slice.elapsed;
  total.latency.Merge(slice.latency);
}

void KeepMax(std::optional<double> sample, std::optional<double>& peak) {
  if (sample.has_value()) peak = std::max(peak.value_or(0), *sample);
}

// The store's and the ceiling's appends of one scenario.
struct AppendMeasurement {
  TimedRun raw;
  TimedRun store;
  double raw_slice_min = HUGE_VAL;  // events/s of the slowest ceiling slice.
  double raw_slice_max = 0;
  std::optional<double> peak_rss_mb;  // Over the store's slices.
  bool rss_reset = true;              // False if the kernel refused a reset.
  eventstore::EventStoreStats stats;
};

class EventstoreBench {
 public:
  EventstoreBench(const EventstoreBenchFlags& flags, BenchReporter& reporter,
                  const ScratchDir& scratch)
      : flags_(flags),
        reporter_(reporter),
        scratch_(scratch),
        zipf_(flags.streams, kZipfExponent),
        payloads_(flags.payload_bytes),
        workload_{&zipf_, &payloads_} {}

  absl::Status RunAppend(int writers, size_t events_per_append);
  // Fills one store and measures the selected read scenarios over it.
  absl::Status RunReads(bool read_all, bool catchup);
  absl::Status RunRecovery();

 private:
  absl::StatusOr<AppendMeasurement> MeasureAppends(const std::string& name,
                                                   int writers,
                                                   size_t events_per_append);

  // One pass of `read` over a freshly opened store at `path`; the result
  // lacks its ceiling.
  absl::StatusOr<BenchResult> MeasureRead(
      const std::string& bench, const std::string& path,
      const std::function<absl::StatusOr<ReadRun>(EventStore&)>& read);

  const EventstoreBenchFlags& flags_;
  BenchReporter& reporter_;
  const ScratchDir& scratch_;
  const ZipfSampler zipf_;
  const PayloadPool payloads_;
  const Workload workload_;
};

// The disk's fsync latency drifts a lot on a shared VM, so the store and its
// ceiling run in alternating slices (ceiling first in even rounds, store
// first in odd ones) and each figure sums its own slices. The ceiling gets a
// fresh RocksDB per slice; the store stays open throughout, as in service.
absl::StatusOr<AppendMeasurement> EventstoreBench::MeasureAppends(
    const std::string& name, int writers, size_t events_per_append) {
  const int rounds =
      std::clamp(static_cast<int>(std::lround(flags_.seconds / kSliceSeconds)),
                 1, kMaxRounds);
  const absl::Duration slice = absl::Seconds(flags_.seconds / rounds);
  Log("%s: writers=%d events_per_append=%d; %d rounds of %s against raw "
      "RocksDB synced writes",
      name, writers, events_per_append, rounds, absl::FormatDuration(slice));
  const RawWriteLoad load{writers, events_per_append, flags_.payload_bytes,
                          slice};
  const AppendShape shape{flags_.payload_bytes, events_per_append};

  ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store,
                   OpenStore(scratch_.Sub(name + "-store"), /*sync=*/true));
  AppendMeasurement measured;
  for (int turn = 0; turn < 2 * rounds && !StopRequested(); ++turn) {
    // Turns 0, 3, 4, 7, 8, ... are the ceiling's: ABBA ABBA ...
    if (turn % 4 == 0 || turn % 4 == 3) {
      const std::string raw_name = absl::StrCat(name, "-raw-", turn);
      absl::StatusOr<TimedRun> raw =
          RawSyncedWrites(scratch_.Sub(raw_name), load, payloads_);
      scratch_.RemoveSub(raw_name);
      RETURN_IF_ERROR(raw.status());
      Log("%s: slice %d raw   %.0f events/s", name, turn,
          raw->EventsPerSecond());
      measured.raw_slice_min =
          std::min(measured.raw_slice_min, raw->EventsPerSecond());
      measured.raw_slice_max =
          std::max(measured.raw_slice_max, raw->EventsPerSecond());
      Accumulate(*raw, measured.raw);
    } else {
      measured.rss_reset = ResetPeakRss() && measured.rss_reset;
      ASSIGN_OR_RETURN(TimedRun run,
                       RunTimedWriters(writers, slice, [&](std::mt19937_64& r) {
                         return AppendToRandomStream(*store, workload_, shape,
                                                     r);
                       }));
      KeepMax(PeakRssMb(), measured.peak_rss_mb);
      Log("%s: slice %d store %.0f events/s", name, turn,
          run.EventsPerSecond());
      Accumulate(run, measured.store);
    }
  }
  if (StopRequested()) return absl::CancelledError("stopped by a signal");
  measured.stats = store->stats();
  return measured;
}

absl::Status EventstoreBench::RunAppend(int writers, size_t events_per_append) {
  const std::string name =
      absl::StrCat("append-", writers, "x", events_per_append);
  absl::StatusOr<AppendMeasurement> measured =
      MeasureAppends(name, writers, events_per_append);
  scratch_.RemoveSub(name + "-store");
  RETURN_IF_ERROR(measured.status());

  const eventstore::EventStoreStats& stats = measured->stats;
  const auto per_group = [&](uint64_t total) {
    return stats.commit_groups == 0
               ? 0.0
               : static_cast<double>(total) /
                     static_cast<double>(stats.commit_groups);
  };
  Log("%s: raw %.0f events/s; store %.0f events/s: %d appends in %d commit "
      "groups (%.1f appends, %.0f us synced write per group)",
      name, measured->raw.EventsPerSecond(), measured->store.EventsPerSecond(),
      stats.appends, stats.commit_groups, per_group(stats.appends),
      per_group(stats.sync_micros));
  if (stats.events != measured->store.events ||
      stats.appends != measured->store.calls) {
    Log("WARNING: stats() counts %d appends / %d events, the writers had %d / "
        "%d acknowledged (a bug in libs/eventstore)",
        stats.appends, stats.events, measured->store.calls,
        measured->store.events);
  }
  if (measured->raw_slice_max > 2 * measured->raw_slice_min) {
    Log("WARNING: the disk's synced write rate changed from %.0f to %.0f "
        "events/s during %s; the slices alternate so that both figures see "
        "it, but the ratio is less certain: run again to confirm",
        measured->raw_slice_min, measured->raw_slice_max, name);
  }
  if (!measured->rss_reset) {
    Log("peak RSS could not be reset; it counts from the start");
  }

  BenchResult result;
  result.bench = "eventstore.append";
  result.config = {{"writers", writers},
                   {"events_per_append", events_per_append},
                   {"payload_bytes", flags_.payload_bytes},
                   {"seconds", SecondsJson(flags_.seconds)},
                   {"streams", flags_.streams}};
  result.value = measured->store.EventsPerSecond();
  result.unit = "events/s";
  result.ceiling = measured->raw.EventsPerSecond();
  result.latency = measured->store.latency;
  result.peak_rss_mb = measured->peak_rss_mb;
  reporter_.Print(result);
  return absl::OkStatus();
}

absl::Status EventstoreBench::RunReads(bool read_all, bool catchup) {
  const std::string path = scratch_.Sub("read-store");
  const AppendShape fill_shape{flags_.payload_bytes, kFillEventsPerAppend};
  {
    Log("read store: filling with %d events", flags_.events);
    ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store,
                     OpenStore(path, /*sync=*/false));
    RETURN_IF_ERROR(FillStore(*store, flags_.events, workload_, fill_shape));
  }
  {
    // Reopening replays and flushes the WAL now, not during a measurement.
    ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store,
                     OpenStore(path, /*sync=*/false));
    WaitForQuiescence(*store, kQuiescenceTimeout);
  }
  // A first scan warms the page cache for every measurement after it. The
  // ceiling is measured before and after the store's reads (ABA).
  const std::string& family = flags_.log_column_family;
  Log("read store: raw scans of column family %s", family);
  RETURN_IF_ERROR(RawScan(path, family).status());
  ASSIGN_OR_RETURN(ScanRun before, RawScan(path, family));
  if (before.entries != flags_.events) {
    Log("WARNING: column family %s holds %d entries for %d events; the "
        "ceiling counts entries",
        family, before.entries, flags_.events);
  }
  std::vector<BenchResult> results;
  if (read_all) {
    ASSIGN_OR_RETURN(
        BenchResult result,
        MeasureRead("eventstore.read_all", path, [&](EventStore& store) {
          return ReadWholeLog(store, flags_.page_events);
        }));
    results.push_back(std::move(result));
  }
  if (catchup) {
    ASSIGN_OR_RETURN(BenchResult result,
                     MeasureRead("eventstore.subscribe_catchup", path,
                                 [&](EventStore& store) {
                                   return CatchUpSubscription(
                                       store, flags_.page_events);
                                 }));
    results.push_back(std::move(result));
  }
  ASSIGN_OR_RETURN(ScanRun after, RawScan(path, family));
  scratch_.RemoveSub("read-store");
  Log("raw scans: %d entries (%d bytes) in %.3f s before, %.3f s after",
      before.entries, before.bytes, absl::ToDoubleSeconds(before.elapsed),
      absl::ToDoubleSeconds(after.elapsed));

  const double ceiling =
      PerSecond(before.entries + after.entries, before.elapsed + after.elapsed);
  for (BenchResult& result : results) {
    result.ceiling = ceiling;
    reporter_.Print(result);
  }
  return absl::OkStatus();
}

absl::StatusOr<BenchResult> EventstoreBench::MeasureRead(
    const std::string& bench, const std::string& path,
    const std::function<absl::StatusOr<ReadRun>(EventStore&)>& read) {
  Log("%s", bench);
  ResetPeakRss();
  ReadRun run;
  std::optional<double> peak_rss_mb;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store,
                     OpenStore(path, /*sync=*/true));
    ASSIGN_OR_RETURN(run, read(*store));
    peak_rss_mb = PeakRssMb();
  }
  if (run.events != flags_.events) {
    return absl::InternalError(
        absl::StrCat(bench, " delivered ", run.events, " events of the ",
                     flags_.events, " appended (a bug in libs/eventstore)"));
  }
  BenchResult result;
  result.bench = bench;
  result.config = {{"events", flags_.events},
                   {"page_events", flags_.page_events},
                   {"payload_bytes", flags_.payload_bytes},
                   {"streams", flags_.streams}};
  result.value = PerSecond(run.events, run.elapsed);
  result.unit = "events/s";
  result.latency = run.page_latency;
  result.peak_rss_mb = peak_rss_mb;
  return result;
}

// The ceiling opens byte-identical copies of the killed store with RocksDB
// alone, one before and one after the store's open (ABA), and averages them.
absl::Status EventstoreBench::RunRecovery() {
  const std::string path = scratch_.Sub("recovery-store");
  const std::vector<std::string> copies = {"recovery-copy-a",
                                           "recovery-copy-b"};
  Log("recovery: a child fills %d events without fsync, then is SIGKILLed",
      flags_.events);
  const absl::Duration timeout =
      kMinFillTimeout + absl::Seconds(static_cast<double>(flags_.events) / 1e4);
  RETURN_IF_ERROR(RunChildAndKill(
      {kFillCommand, "--path", path, "--events", absl::StrCat(flags_.events),
       "--streams", absl::StrCat(flags_.streams), "--payload-bytes",
       absl::StrCat(flags_.payload_bytes), "--events-per-append",
       absl::StrCat(kFillEventsPerAppend)},
      timeout));
  Log("recovery: killed; %d bytes of WAL to replay", WalBytes(path));
  for (const std::string& copy : copies) {
    std::error_code error;
    std::filesystem::copy(path, scratch_.Sub(copy),
                          std::filesystem::copy_options::recursive, error);
    if (error) {
      return absl::UnavailableError(absl::StrCat(
          "copying ", path, " to ", scratch_.Sub(copy), ": ", error.message()));
    }
  }
  // Write back every dirty page now so that no open competes with it.
  sync();

  absl::StatusOr<absl::Duration> raw_before =
      RawOpenTime(scratch_.Sub(copies[0]));
  scratch_.RemoveSub(copies[0]);
  RETURN_IF_ERROR(raw_before.status());

  ResetPeakRss();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<EventStore>> store =
      OpenStore(path, /*sync=*/true);
  const absl::Duration open_time = absl::Now() - start;
  RETURN_IF_ERROR(store.status());
  const std::optional<double> peak_rss_mb = PeakRssMb();
  const uint64_t last = (*store)->LastPosition();
  store->reset();
  scratch_.RemoveSub("recovery-store");

  absl::StatusOr<absl::Duration> raw_after =
      RawOpenTime(scratch_.Sub(copies[1]));
  scratch_.RemoveSub(copies[1]);
  RETURN_IF_ERROR(raw_after.status());
  Log("recovery: raw open %.3f s, store open %.3f s, raw open %.3f s",
      absl::ToDoubleSeconds(*raw_before), absl::ToDoubleSeconds(open_time),
      absl::ToDoubleSeconds(*raw_after));
  if (last != flags_.events) {
    return absl::InternalError(absl::StrCat(
        "after SIGKILL the reopened store has LastPosition() ", last, ", not ",
        flags_.events,
        ": acknowledged appends were lost although only the process died (a "
        "bug in libs/eventstore)"));
  }

  BenchResult result;
  result.bench = "eventstore.recovery";
  result.config = {{"events", flags_.events},
                   {"fill_events_per_append", kFillEventsPerAppend},
                   {"payload_bytes", flags_.payload_bytes},
                   {"streams", flags_.streams}};
  result.value = absl::ToDoubleSeconds(open_time);
  result.unit = "s";
  result.ceiling = absl::ToDoubleSeconds(*raw_before + *raw_after) / 2;
  result.peak_rss_mb = peak_rss_mb;
  reporter_.Print(result);
  return absl::OkStatus();
}

}  // namespace

absl::Status RunEventstoreBench(const EventstoreBenchFlags& flags,
                                BenchReporter& reporter) {
  absl::flat_hash_set<std::string> selected(flags.scenarios.begin(),
                                            flags.scenarios.end());
  if (selected.empty()) {
    selected.insert(EventstoreScenarioNames().begin(),
                    EventstoreScenarioNames().end());
  }
  ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Create(flags.dir));
  Log("scratch directory %s", scratch.path());
  EventstoreBench bench(flags, reporter, scratch);

  absl::Status first_error;
  const auto note = [&](const std::string& scenario, absl::Status status) {
    if (status.ok()) return;
    Log("%s failed: %s", scenario, status.ToString());
    if (first_error.ok()) first_error = std::move(status);
  };
  if (selected.contains(kAppendSingle) && !StopRequested()) {
    note(kAppendSingle, bench.RunAppend(1, 1));
  }
  if (selected.contains(kAppendConcurrent) && !StopRequested()) {
    note(kAppendConcurrent, bench.RunAppend(flags.writers, 1));
  }
  if (selected.contains(kAppendBatch) && !StopRequested()) {
    note(kAppendBatch, bench.RunAppend(1, flags.events_per_append));
  }
  const bool read_all = selected.contains(kReadAll);
  const bool catchup = selected.contains(kSubscribeCatchup);
  if ((read_all || catchup) && !StopRequested()) {
    note("read_all / subscribe_catchup", bench.RunReads(read_all, catchup));
  }
  if (selected.contains(kRecovery) && !StopRequested()) {
    note(kRecovery, bench.RunRecovery());
  }
  if (StopRequested() && first_error.ok()) {
    first_error = absl::CancelledError("stopped by a signal");
  }
  return first_error;
}

}  // namespace crm::bench
