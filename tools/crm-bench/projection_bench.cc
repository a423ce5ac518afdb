#include "projection_bench.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench_flags.h"
#include "crm/base/status_macros.h"
#include "crm/projection/projection.h"
#include "eventstore_bench.h"
#include "eventstore_workload.h"
#include "payload_pool.h"
#include "run_control.h"
#include "scratch_dir.h"
#include "zipf.h"

namespace crm::bench {
namespace {

using projection::Projection;
using projection::ProjectionEngine;
using projection::ProjectionWriter;

// A count of events per stream: each event costs one read (through the
// batch) and one write.
class CountPerStream final : public Projection {
 public:
  std::string name() const override { return "bench_counts"; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(const eventstore::Envelope& event,
                     ProjectionWriter& writer) override {
    const std::string key = absl::StrCat("count/", event.stream());
    ASSIGN_OR_RETURN(std::optional<std::string> value, writer.Get(key));
    uint64_t count = 0;
    if (value.has_value() && !absl::SimpleAtoi(*value, &count)) {
      return absl::DataLossError(absl::StrCat("bad count at ", key));
    }
    writer.Put(key, absl::StrCat(count + 1));
    return absl::OkStatus();
  }
};

// The cheapest useful projection: the latest event id of each stream, one
// write and no read per event.
class LatestPerStream final : public Projection {
 public:
  std::string name() const override { return "bench_latest"; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(const eventstore::Envelope& event,
                     ProjectionWriter& writer) override {
    writer.Put(absl::StrCat("latest/", event.stream()), event.event_id());
    return absl::OkStatus();
  }
};

double EventsPerSecond(uint64_t events, absl::Duration elapsed) {
  return static_cast<double>(events) / absl::ToDoubleSeconds(elapsed);
}

// Read-all of the whole log, the ceiling of a rebuild.
absl::StatusOr<double> ReadAllRate(const eventstore::EventStore& store,
                                   size_t page_events) {
  ASSIGN_OR_RETURN(ReadRun run, ReadWholeLog(store, page_events));
  return EventsPerSecond(run.events, run.elapsed);
}

}  // namespace

void AddProjectionFlags(CLI::App& command, ProjectionBenchFlags& flags) {
  AddEventsFlag(command, flags.events, "Events in the log");
  AddStreamsFlag(command, flags.streams);
  AddPayloadBytesFlag(command, flags.payload_bytes);
  command
      .add_option("--batch-events", flags.batch_events,
                  "Events per projection batch and per ReadAll page")
      ->check(CLI::Range(size_t{1}, size_t{10'000}))
      ->capture_default_str();
  command
      .add_option("--build-batch-bytes", flags.build_batch_bytes,
                  "Staged bytes a version being built commits at once "
                  "(ProjectionEngine::Options::build_batch_bytes; 1 commits "
                  "every read)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 32))
      ->capture_default_str();
  command
      .add_option("--read-ahead", flags.read_ahead,
                  "Read the log on a second thread while the runner applies "
                  "(ProjectionEngine::Options::read_ahead)")
      ->capture_default_str();
  AddScratchDirFlag(command, flags.dir);
}

absl::Status RunProjectionBench(const ProjectionBenchFlags& flags,
                                BenchReporter& reporter) {
  ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Create(flags.dir));
  ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventStore> store,
                   OpenStore(scratch.path() + "/store", /*sync=*/false));
  const ZipfSampler streams(flags.streams, kZipfExponent);
  const PayloadPool payloads(flags.payload_bytes);
  Log("projection: filling %d events", flags.events);
  RETURN_IF_ERROR(FillStore(*store, flags.events, {&streams, &payloads},
                            {flags.payload_bytes, 1000}));
  WaitForQuiescence(*store, absl::Seconds(60));

  // The ceiling before and after each rebuild, averaged, so both see the
  // same cache state on average.
  ASSIGN_OR_RETURN(const double ceiling_before,
                   ReadAllRate(*store, flags.batch_events));
  struct Case {
    std::unique_ptr<Projection> projection;
    const char* shape;
  };
  std::vector<Case> cases;
  cases.push_back({std::make_unique<LatestPerStream>(), "write"});
  cases.push_back({std::make_unique<CountPerStream>(), "read_modify_write"});
  for (Case& rebuild : cases) {
    const std::string name = rebuild.projection->name();
    Log("projection: rebuilding %s (%s per event)", name, rebuild.shape);
    ResetPeakRss();
    std::vector<std::unique_ptr<Projection>> projections;
    projections.push_back(std::move(rebuild.projection));
    const absl::Time start = absl::Now();
    ASSIGN_OR_RETURN(
        std::unique_ptr<ProjectionEngine> engine,
        ProjectionEngine::Start(*store, std::move(projections),
                                {.batch_events = flags.batch_events,
                                 .build_batch_bytes = flags.build_batch_bytes,
                                 .read_ahead = flags.read_ahead,
                                 .poll_interval = absl::Milliseconds(10)}));
    RETURN_IF_ERROR(
        engine->WaitForPosition(name, flags.events, absl::Minutes(30)));
    const absl::Duration elapsed = absl::Now() - start;
    const std::optional<double> peak_rss = PeakRssMb();
    engine.reset();
    if (StopRequested()) return absl::CancelledError("stopped by a signal");
    ASSIGN_OR_RETURN(const double ceiling_after,
                     ReadAllRate(*store, flags.batch_events));

    BenchResult result;
    result.bench = "projection.rebuild";
    result.config = {{"events", flags.events},
                     {"streams", flags.streams},
                     {"payload_bytes", flags.payload_bytes},
                     {"batch_events", flags.batch_events},
                     {"build_batch_bytes", flags.build_batch_bytes},
                     {"read_ahead", flags.read_ahead},
                     {"apply", rebuild.shape}};
    result.value = EventsPerSecond(flags.events, elapsed);
    result.unit = "events/s";
    result.ceiling = (ceiling_before + ceiling_after) / 2;
    result.peak_rss_mb = peak_rss;
    reporter.Print(result);
  }
  return absl::OkStatus();
}

}  // namespace crm::bench
