// Log levels of the service processes' logs (see logging.h).
#pragma once

#include <string_view>

#include "absl/status/statusor.h"

namespace crm::server {

// In increasing severity. A logger at level L writes the lines of level L and
// above.
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

// "trace", "debug", "info", "warn" or "error": the value of --log-level and
// of the "level" field of every log line.
std::string_view LogLevelName(LogLevel level);

// The level named `name` (one of LogLevelName's names, in any case; "warning"
// is accepted for "warn"). Errors: INVALID_ARGUMENT naming the accepted
// values.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);

}  // namespace crm::server
