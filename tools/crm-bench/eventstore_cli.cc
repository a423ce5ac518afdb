// The command-line side of `crm-bench eventstore`: its flags, and the hidden
// child command of the recovery scenario.
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "bench_flags.h"
#include "crm/eventstore/event_store.h"
#include "eventstore_bench.h"
#include "eventstore_workload.h"
#include "killed_child.h"
#include "payload_pool.h"
#include "run_control.h"
#include "zipf.h"

namespace crm::bench {

const std::vector<std::string>& EventstoreScenarioNames() {
  static const auto* names = new std::vector<std::string>{
      kAppendSingle, kAppendConcurrent, kAppendBatch,
      kReadAll,      kSubscribeCatchup, kRecovery};
  return *names;
}

void AddEventstoreFlags(CLI::App& command, EventstoreBenchFlags& flags) {
  command
      .add_option("--writers", flags.writers,
                  "Writer threads of the append_concurrent scenario")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  command
      .add_option("--seconds", flags.seconds,
                  "Duration of each append measurement (and of its ceiling)")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  AddPayloadBytesFlag(command, flags.payload_bytes);
  command
      .add_option("--events-per-append", flags.events_per_append,
                  "Events per append in the append_batch scenario")
      ->check(CLI::Range(size_t{1}, size_t{10'000}))
      ->capture_default_str();
  AddEventsFlag(command, flags.events,
                "Events in the read, catch-up and recovery stores");
  AddStreamsFlag(command, flags.streams);
  command
      .add_option("--page-events", flags.page_events,
                  "Events per ReadAll page and per subscription batch")
      ->check(CLI::Range(size_t{1}, size_t{10'000}))
      ->capture_default_str();
  AddScratchDirFlag(command, flags.dir);
  command
      .add_option("--log-column-family", flags.log_column_family,
                  "The store's log column family, scanned for the read "
                  "ceilings")
      ->capture_default_str();
  command
      .add_option("--scenario", flags.scenarios,
                  "Scenarios to run (repeat, or separate with commas; "
                  "default all)")
      ->delimiter(',')
      ->check(CLI::IsMember(EventstoreScenarioNames()));
}

void AddEventstoreFillFlags(CLI::App& command, EventstoreFillFlags& flags) {
  command.add_option("--path", flags.path, "Store directory")->required();
  command.add_option("--events", flags.events)
      ->required()
      ->check(CLI::PositiveNumber);
  command.add_option("--streams", flags.streams)
      ->required()
      ->check(CLI::PositiveNumber);
  command.add_option("--payload-bytes", flags.payload_bytes)
      ->required()
      ->check(CLI::PositiveNumber);
  command.add_option("--events-per-append", flags.events_per_append)
      ->required()
      ->check(CLI::PositiveNumber);
}

int RunEventstoreFill(const EventstoreFillFlags& flags) {
  const ZipfSampler zipf(flags.streams, kZipfExponent);
  const PayloadPool payloads(flags.payload_bytes);
  absl::StatusOr<std::unique_ptr<eventstore::EventStore>> store =
      OpenStore(flags.path, /*sync=*/false);
  if (!store.ok()) {
    Log("fill child: %s", store.status().ToString());
    return 1;
  }
  const absl::Status filled =
      FillStore(**store, flags.events, Workload{&zipf, &payloads},
                AppendShape{flags.payload_bytes, flags.events_per_append});
  if (!filled.ok()) {
    Log("fill child: %s", filled.ToString());
    return 1;
  }
  if (write(STDOUT_FILENO, kChildReadyLine, sizeof(kChildReadyLine) - 1) < 0) {
    return 1;
  }
  // The parent kills us now. Should it not, leave after a bounded wait,
  // without closing the store all the same.
  for (int i = 0; i < 600 && !StopRequested(); ++i) {
    absl::SleepFor(absl::Seconds(1));
  }
  Log("fill child: not killed within 10 minutes; exiting");
  _exit(3);
}

}  // namespace crm::bench
