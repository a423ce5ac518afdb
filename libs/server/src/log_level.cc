#include "crm/server/log_level.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"

namespace crm::server {

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  const std::string lower =
      absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
  for (LogLevel level : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo,
                         LogLevel::kWarn, LogLevel::kError}) {
    if (lower == LogLevelName(level)) return level;
  }
  if (lower == "warning") return LogLevel::kWarn;
  return absl::InvalidArgumentError(fmt::format(
      "unknown log level \"{}\"; use trace, debug, info, warn or error", name));
}

}  // namespace crm::server
