// The result of one benchmark scenario and how crm-bench prints it.
//
// With --json every result is one JSON object on one line of stdout, and
// nothing else is written to stdout (DESIGN.md §12):
//
//   {"bench":"eventstore.append","config":{...},"value":4400.0,
//    "unit":"events/s","ceiling":4500.0,"ratio":0.978,"p50_us":210.0,
//    "p99_us":450.0,"p999_us":900.0,"peak_rss_mb":80.5}
//
// Fields that do not apply are omitted. Without --json the results form a
// table, one row per result, printed as each scenario finishes.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include "latency_recorder.h"
#include "nlohmann/json.hpp"

namespace crm::bench {

struct BenchResult {
  std::string bench;  // "<area>.<operation>", e.g. "eventstore.append".
  nlohmann::ordered_json config;  // The knobs that shaped the figure.
  double value = 0;
  std::string unit;  // "events/s", "s", ...
  // The same work done by the layer below, measured in the same run.
  // ratio = value / ceiling.
  std::optional<double> ceiling;
  std::optional<LatencyRecorder> latency;
  std::optional<double> peak_rss_mb;
};

// Thread compatible.
class BenchReporter {
 public:
  // Writes to `out` (stdout in crm-bench), which must outlive the reporter.
  BenchReporter(bool json, std::FILE* out) : json_(json), out_(out) {}

  void Print(const BenchResult& result);

  // The JSON object for `result`, as Print writes it with --json.
  static nlohmann::ordered_json ToJson(const BenchResult& result);

 private:
  void PrintRow(const BenchResult& result);

  bool json_;
  std::FILE* out_;
  bool header_printed_ = false;
};

// Resets the kernel's peak resident set size of this process (VmHWM) to the
// current RSS, after returning freed heap to the system. Returns false when
// the kernel refuses (then the peak counts from the start of the process).
bool ResetPeakRss();

// VmHWM of this process in MiB, or nullopt when /proc cannot be read.
std::optional<double> PeakRssMb();

}  // namespace crm::bench
