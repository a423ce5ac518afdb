#include "crm/server/logging.h"

#include <grpc/support/log.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/const_init.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/server/config.h"
#include "spdlog/logger.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/base_sink.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace crm::server {
namespace {

// Passes each formatted line to a LogSink; base_sink's mutex serializes.
class CallbackSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit CallbackSink(LogSink line_sink) : sink_(std::move(line_sink)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    sink_(std::string_view(message.payload.data(), message.payload.size()));
  }
  void flush_() override {}

 private:
  LogSink sink_;
};

struct LoggerState {
  std::shared_ptr<spdlog::logger> logger;
  std::string service;
};

ABSL_CONST_INIT absl::Mutex state_mutex(absl::kConstInit);
// Never destroyed, so that threads still logging at exit find it.
std::shared_ptr<const LoggerState>* state ABSL_GUARDED_BY(state_mutex) =
    nullptr;
std::atomic<int> current_level{static_cast<int>(LogLevel::kInfo)};
thread_local std::string correlation_id;

spdlog::level::level_enum SpdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::shared_ptr<const LoggerState> MakeState(std::string service,
                                             LogSink sink) {
  spdlog::sink_ptr spdlog_sink;
  if (sink) {
    spdlog_sink = std::make_shared<CallbackSink>(std::move(sink));
  } else {
    spdlog_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  // Lines are complete JSON objects already; spdlog adds the newline.
  spdlog_sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      "%v", spdlog::pattern_time_type::utc));
  auto logger = std::make_shared<spdlog::logger>("crm", std::move(spdlog_sink));
  logger->set_level(spdlog::level::trace);  // Log() filters.
  logger->flush_on(spdlog::level::trace);
  auto new_state = std::make_shared<LoggerState>();
  new_state->logger = std::move(logger);
  new_state->service = std::move(service);
  return new_state;
}

std::shared_ptr<const LoggerState> CurrentState() {
  {
    absl::ReaderMutexLock lock(&state_mutex);
    if (state != nullptr) return *state;
  }
  absl::MutexLock lock(&state_mutex);
  if (state == nullptr) {
    state = new std::shared_ptr<const LoggerState>(MakeState("", {}));
  }
  return *state;
}

// gRPC's own messages, as our lines.
void GrpcLog(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kError;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = LogLevel::kInfo;
  if (!LogEnabled(level)) return;
  Log(level, args->message != nullptr ? args->message : "",
      {{"component", "grpc"},
       {"file", args->file != nullptr ? args->file : ""},
       {"line", args->line}});
}

constexpr const char* kStandardFields[] = {"time", "level", "service",
                                           "message"};

bool IsStandardField(const std::string& key) {
  for (const char* field : kStandardFields) {
    if (key == field) return true;
  }
  return false;
}

}  // namespace

void StartLogging(std::string service, LogLevel level, LogSink sink) {
  std::shared_ptr<const LoggerState> new_state =
      MakeState(std::move(service), std::move(sink));
  {
    absl::MutexLock lock(&state_mutex);
    if (state == nullptr) {
      state = new std::shared_ptr<const LoggerState>(std::move(new_state));
    } else {
      *state = std::move(new_state);
    }
  }
  SetLogLevel(level);
  gpr_set_log_function(GrpcLog);
}

void StartLogging(const ServerConfig& config) {
  StartLogging(config.service, config.log_level);
}

void SetLogLevel(LogLevel level) {
  current_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

LogLevel GetLogLevel() {
  return static_cast<LogLevel>(current_level.load(std::memory_order_relaxed));
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >=
         current_level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, std::string_view message,
         const nlohmann::json& fields) {
  if (!LogEnabled(level)) return;
  const std::shared_ptr<const LoggerState> logger_state = CurrentState();
  std::string line;
  try {
    nlohmann::ordered_json object;
    object["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(),
                                      absl::UTCTimeZone());
    object["level"] = LogLevelName(level);
    object["service"] = logger_state->service;
    object["message"] = message;
    if (!correlation_id.empty()) object["correlation_id"] = correlation_id;
    if (fields.is_object()) {
      for (const auto& [key, value] : fields.items()) {
        object[IsStandardField(key) ? "field." + key : key] = value;
      }
    } else if (!fields.is_null()) {
      object["fields"] = fields;
    }
    line =
        object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception&) {
    // Only allocation can fail here; keep the process going.
    line = R"({"level":"error","message":"log line could not be built"})";
  }
  logger_state->logger->log(SpdlogLevel(level),
                            spdlog::string_view_t(line.data(), line.size()));
}

ScopedCorrelationId::ScopedCorrelationId(std::string id)
    : previous_(std::exchange(correlation_id, std::move(id))) {}

ScopedCorrelationId::~ScopedCorrelationId() {
  correlation_id = std::move(previous_);
}

const std::string& CurrentCorrelationId() { return correlation_id; }

}  // namespace crm::server
