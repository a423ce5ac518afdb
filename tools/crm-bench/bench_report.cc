#include "bench_report.h"

#include <malloc.h>

#include <cmath>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace crm::bench {
namespace {

// Figures carry no more digits than they can mean.
double Round(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

// "writers=16 events_per_append=1 ..." for the table.
std::string ConfigText(const nlohmann::ordered_json& config) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : config.items()) {
    parts.push_back(
        key + "=" +
        (value.is_string() ? value.get<std::string>() : value.dump()));
  }
  return absl::StrJoin(parts, " ");
}

std::string Optional(const std::optional<double>& value, int decimals) {
  return value.has_value() ? absl::StrFormat("%.*f", decimals, *value) : "-";
}

}  // namespace

nlohmann::ordered_json BenchReporter::ToJson(const BenchResult& result) {
  nlohmann::ordered_json json;
  json["bench"] = result.bench;
  json["config"] = result.config;
  json["value"] = Round(result.value, 3);
  json["unit"] = result.unit;
  if (result.ceiling.has_value()) {
    json["ceiling"] = Round(*result.ceiling, 3);
    if (*result.ceiling > 0) {
      json["ratio"] = Round(result.value / *result.ceiling, 3);
    }
  }
  if (result.latency.has_value() && result.latency->count() > 0) {
    json["p50_us"] = Round(result.latency->PercentileMicros(50), 1);
    json["p99_us"] = Round(result.latency->PercentileMicros(99), 1);
    json["p999_us"] = Round(result.latency->PercentileMicros(99.9), 1);
  }
  if (result.peak_rss_mb.has_value()) {
    json["peak_rss_mb"] = Round(*result.peak_rss_mb, 1);
  }
  return json;
}

void BenchReporter::Print(const BenchResult& result) {
  if (json_) {
    std::fprintf(out_, "%s\n", ToJson(result).dump().c_str());
  } else {
    PrintRow(result);
  }
  std::fflush(out_);
}

void BenchReporter::PrintRow(const BenchResult& result) {
  constexpr const char* kRow =
      "%-28s %14s %-9s %14s %7s %10s %10s %10s %8s  %s\n";
  if (!header_printed_) {
    std::fprintf(out_, kRow, "bench", "value", "unit", "ceiling", "ratio",
                 "p50_us", "p99_us", "p99.9_us", "rss_mb", "config");
    header_printed_ = true;
  }
  std::optional<double> ratio;
  if (result.ceiling.has_value() && *result.ceiling > 0) {
    ratio = result.value / *result.ceiling;
  }
  std::optional<double> p50, p99, p999;
  if (result.latency.has_value() && result.latency->count() > 0) {
    p50 = result.latency->PercentileMicros(50);
    p99 = result.latency->PercentileMicros(99);
    p999 = result.latency->PercentileMicros(99.9);
  }
  const int decimals = result.unit == "s" ? 3 : 0;
  std::fprintf(out_, kRow, result.bench.c_str(),
               Optional(result.value, decimals).c_str(), result.unit.c_str(),
               Optional(result.ceiling, decimals).c_str(),
               Optional(ratio, 3).c_str(), Optional(p50, 1).c_str(),
               Optional(p99, 1).c_str(), Optional(p999, 1).c_str(),
               Optional(result.peak_rss_mb, 1).c_str(),
               ConfigText(result.config).c_str());
}

bool ResetPeakRss() {
  malloc_trim(0);
  std::ofstream clear_refs("/proc/self/clear_refs");
  if (!clear_refs) return false;
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

std::optional<double> PeakRssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmHWM:")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    if (!absl::ConsumeSuffix(&rest, "kB")) return std::nullopt;
    uint64_t kib = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kib)) {
      return std::nullopt;
    }
    return static_cast<double>(kib) / 1024.0;
  }
  return std::nullopt;
}

}  // namespace crm::bench
