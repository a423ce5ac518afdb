// `crm-bench eventstore`: the event store's append throughput, read speed,
// subscription catch-up and crash recovery, each next to the same work done
// on raw RocksDB in the same run (docs/benchmarks.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "CLI/App.hpp"
#include "absl/status/status.h"
#include "bench_report.h"

namespace crm::bench {

// Scenario names, as --scenario takes them, in the order they run.
inline constexpr char kAppendSingle[] = "append_single";
inline constexpr char kAppendConcurrent[] = "append_concurrent";
inline constexpr char kAppendBatch[] = "append_batch";
inline constexpr char kReadAll[] = "read_all";
inline constexpr char kSubscribeCatchup[] = "subscribe_catchup";
inline constexpr char kRecovery[] = "recovery";
const std::vector<std::string>& EventstoreScenarioNames();

// Zipf exponent of the stream choice: a few hot streams, a long tail.
inline constexpr double kZipfExponent = 1.0;

struct EventstoreBenchFlags {
  int writers = 16;
  double seconds = 5;
  size_t payload_bytes = 256;
  size_t events_per_append = 100;  // The batch scenario's.
  uint64_t events = 1'000'000;     // Size of the read and recovery stores.
  size_t streams = 100'000;
  size_t page_events = 1000;  // ReadAll page and subscription batch.
  std::string dir;            // Parent of the scratch directory.
  std::string log_column_family = "es_log";
  std::vector<std::string> scenarios;  // Empty: all.
};

// Adds the flags of `crm-bench eventstore` to `command`, with their checks.
void AddEventstoreFlags(CLI::App& command, EventstoreBenchFlags& flags);

// Runs the selected scenarios in order, printing one result each. A failed
// scenario is logged and the next one runs; returns the first error.
absl::Status RunEventstoreBench(const EventstoreBenchFlags& flags,
                                BenchReporter& reporter);

// The hidden `crm-bench eventstore-fill` command: the child process of the
// recovery scenario. It fills a fresh store without fsync, prints the ready
// line (killed_child.h), and waits to be killed.
struct EventstoreFillFlags {
  std::string path;
  uint64_t events = 0;
  size_t streams = 0;
  size_t payload_bytes = 0;
  size_t events_per_append = 0;
};

inline constexpr char kFillCommand[] = "eventstore-fill";

void AddEventstoreFillFlags(CLI::App& command, EventstoreFillFlags& flags);

// Returns the process exit code when it fails; on success does not return
// (the parent kills the process).
int RunEventstoreFill(const EventstoreFillFlags& flags);

}  // namespace crm::bench
