// Structured logs: one JSON object per line on stderr (DESIGN.md §10).
//
// Every line has these fields, then the caller's:
//   "time"            UTC, RFC 3339 with microseconds
//   "level"           "trace", "debug", "info", "warn" or "error"
//   "service"         the service's name
//   "message"         what happened, in words
//   "correlation_id"  the request's correlation id, when there is one (the
//                     thread's ScopedCorrelationId, or a "correlation_id"
//                     field the caller passes)
//
//   crm::server::LogInfo("projection caught up",
//                        {{"projection", name}, {"position", position}});
//
//   // In a gRPC handler (see call_context.h):
//   crm::server::ScopedCorrelationId correlation(CorrelationId(*context));
//   crm::server::LogWarn("contact not found", {{"contact_id", id}});
//
// Caller fields named like a standard field are written with a "field."
// prefix ("field.message") rather than dropped. Invalid UTF-8 in strings is
// replaced with U+FFFD; logging never throws and never fails the caller.
// gRPC's own log messages are routed here too (with "component": "grpc").
//
// WARNING: never log secrets or personal data (names, emails, phones,
// addresses, free text about a person); log ids instead.
//
// Thread safety: every function may be called from any thread; lines from
// concurrent calls never interleave.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "crm/server/log_level.h"
#include "nlohmann/json.hpp"

namespace crm::server {

struct ServerConfig;

// Receives each complete line (without the newline). Calls are serialized.
using LogSink = std::function<void(std::string_view line)>;

// Starts (or restarts) the process's logging: lines of `level` and above,
// naming `service`, go to `sink`, or to stderr when `sink` is empty. Until
// the first call, lines of level info and above go to stderr with an empty
// service.
void StartLogging(std::string service, LogLevel level, LogSink sink = {});

// StartLogging(config.service, config.log_level) to stderr.
void StartLogging(const ServerConfig& config);

// Changes the level at run time.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();

// Whether a line of `level` would be written: check it before building
// expensive fields.
bool LogEnabled(LogLevel level);

// Writes one line. `fields` must be a JSON object (anything else is written
// under "fields").
void Log(LogLevel level, std::string_view message,
         const nlohmann::json& fields = nlohmann::json::object());

inline void LogTrace(std::string_view message,
                     const nlohmann::json& fields = nlohmann::json::object()) {
  Log(LogLevel::kTrace, message, fields);
}
inline void LogDebug(std::string_view message,
                     const nlohmann::json& fields = nlohmann::json::object()) {
  Log(LogLevel::kDebug, message, fields);
}
inline void LogInfo(std::string_view message,
                    const nlohmann::json& fields = nlohmann::json::object()) {
  Log(LogLevel::kInfo, message, fields);
}
inline void LogWarn(std::string_view message,
                    const nlohmann::json& fields = nlohmann::json::object()) {
  Log(LogLevel::kWarn, message, fields);
}
inline void LogError(std::string_view message,
                     const nlohmann::json& fields = nlohmann::json::object()) {
  Log(LogLevel::kError, message, fields);
}

// Sets the calling thread's correlation id (written in its log lines) for
// the object's lifetime, then restores the previous one. Scopes nest.
// Not movable: create it on the stack of the code that serves the request.
class ScopedCorrelationId {
 public:
  explicit ScopedCorrelationId(std::string correlation_id);
  ~ScopedCorrelationId();

  ScopedCorrelationId(const ScopedCorrelationId&) = delete;
  ScopedCorrelationId& operator=(const ScopedCorrelationId&) = delete;

 private:
  std::string previous_;
};

// The calling thread's correlation id; empty outside any scope.
const std::string& CurrentCorrelationId();

}  // namespace crm::server
