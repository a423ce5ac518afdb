// `crm-bench projection`: how fast a projection is rebuilt from the log,
// next to reading the same log (docs/benchmarks.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "CLI/App.hpp"
#include "absl/status/status.h"
#include "bench_report.h"
#include "crm/projection/projection.h"

namespace crm::bench {

struct ProjectionBenchFlags {
  uint64_t events = 1'000'000;
  size_t streams = 100'000;
  size_t payload_bytes = 256;
  size_t batch_events = 4096;  // Events per projection batch and read page.
  // ProjectionEngine::Options of the same names, with the engine's defaults.
  size_t build_batch_bytes =
      projection::ProjectionEngine::Options().build_batch_bytes;
  bool read_ahead = projection::ProjectionEngine::Options().read_ahead;
  std::string dir;  // Parent of the scratch directory.
};

// Adds the flags of `crm-bench projection` to `command`, with their checks.
void AddProjectionFlags(CLI::App& command, ProjectionBenchFlags& flags);

// Fills a store, then prints `projection.rebuild` twice: events/s of
// building a projection from the whole log, against read-all of the same log
// as the ceiling; once for a write-only projection (the latest event of each
// stream) and once for a read-modify-write one (a count per stream).
absl::Status RunProjectionBench(const ProjectionBenchFlags& flags,
                                BenchReporter& reporter);

}  // namespace crm::bench
