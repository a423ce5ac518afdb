#include "rpc_interceptor.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <string_view>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/server/call_context.h"
#include "crm/server/logging.h"
#include "fmt/format.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/server_context.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace crm::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr char kUnknownMethod[] = "unknown";
constexpr size_t kMaxCorrelationIdBytes = 128;

const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const auto* const buckets =
      new prometheus::Histogram::BucketBoundaries{
          0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,   0.5,   1,      2.5,   5,    10,    30};
  return *buckets;
}

// "crm.contact.v1.ContactService/GetContact" for a method a linked proto
// defines ("/crm.contact.v1.ContactService/GetContact"); empty otherwise.
std::string MethodLabel(std::string_view path) {
  if (path.size() < 4 || path.front() != '/') return "";
  const std::string_view name = path.substr(1);
  const size_t slash = name.find('/');
  if (slash == std::string_view::npos || slash == 0 ||
      slash + 1 == name.size()) {
    return "";
  }
  std::string full_name(name);
  full_name[slash] = '.';
  if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
          full_name) == nullptr) {
    return "";
  }
  return std::string(name);
}

bool IsServerFault(grpc::StatusCode code) {
  return code == grpc::StatusCode::INTERNAL ||
         code == grpc::StatusCode::UNKNOWN ||
         code == grpc::StatusCode::DATA_LOSS;
}

std::string_view CodeName(grpc::StatusCode code) {
  static constexpr std::string_view kNames[] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
  const int index = static_cast<int>(code);
  return index >= 0 && index < 17 ? kNames[index] : "UNKNOWN";
}

// One call: gives it a correlation id, counts and times it, logs it.
class RpcInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcInterceptor(RpcMetrics& metrics, grpc::experimental::ServerRpcInfo& info)
      : metrics_(metrics),
        method_(metrics.ForMethod(info.method())),
        context_(*info.server_context()),
        start_(absl::Now()) {
    method_.in_flight->Increment();
  }

  ~RpcInterceptor() override {
    // No status was sent: the call was cancelled or timed out first.
    if (!recorded_) Record(CancelledCode(), "");
    method_.in_flight->Decrement();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* batch) override {
    if (batch->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      AssignCorrelationId(*batch->GetRecvInitialMetadata());
      deadline_ = context_.deadline();
    }
    if (batch->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA) &&
        !correlation_id_.empty()) {
      batch->GetSendInitialMetadata()->emplace(kCorrelationIdKey,
                                               correlation_id_);
    }
    if (batch->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS) &&
        !recorded_) {
      const grpc::Status status = batch->GetSendStatus();
      // What the client sees: a call cancelled, or past its deadline, when
      // the status goes out does not get the handler's status.
      if (context_.IsCancelled() ||
          deadline_ <= std::chrono::system_clock::now()) {
        Record(CancelledCode(), status.error_message());
      } else {
        Record(status.error_code(), status.error_message());
      }
    }
    batch->Proceed();
  }

 private:
  // Keeps a valid id from the client, or replaces it with a new one, in the
  // metadata the handler reads (the map's entries point to our string,
  // which lives as long as the call).
  void AssignCorrelationId(
      std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    const grpc::string_ref key(kCorrelationIdKey);
    auto found = metadata.find(key);
    if (found != metadata.end() &&
        IsValidCorrelationId(
            std::string_view(found->second.data(), found->second.size()))) {
      correlation_id_.assign(found->second.data(), found->second.size());
      return;
    }
    metadata.erase(key);
    correlation_id_ = NewCorrelationId();
    metadata.emplace(key, grpc::string_ref(correlation_id_));
  }

  // A call that ends cancelled counts as DEADLINE_EXCEEDED when its deadline
  // is near. The client's own timer ends a timed-out call first: it cancels
  // the stream, and the cancellation reaches the server before the server's
  // copy of the deadline, which grpc-timeout carries as a duration and the
  // server counts from the request's arrival, so it lies later by the
  // request's transit and queueing time (milliseconds, hundreds of them on
  // a loaded machine). A client that cancels on its own within the slack of
  // its deadline is counted as timed out.
  grpc::StatusCode CancelledCode() const {
    return deadline_ <= std::chrono::system_clock::now() + kDeadlineSlack
               ? grpc::StatusCode::DEADLINE_EXCEEDED
               : grpc::StatusCode::CANCELLED;
  }
  static constexpr std::chrono::milliseconds kDeadlineSlack{1000};

  void Record(grpc::StatusCode code, const std::string& message) {
    recorded_ = true;
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
    metrics_.CountRequest(method_, code);
    method_.duration->Observe(seconds);
    const LogLevel level =
        IsServerFault(code) ? LogLevel::kWarn : LogLevel::kDebug;
    if (!LogEnabled(level)) return;
    nlohmann::json fields = {{"method", method_.label},
                             {"code", CodeName(code)},
                             {"duration_seconds", seconds},
                             {"correlation_id", correlation_id_}};
    if (code != grpc::StatusCode::OK && !message.empty()) {
      fields["error"] = message;
    }
    Log(level, "call finished", fields);
  }

  RpcMetrics& metrics_;
  RpcMetrics::Method& method_;
  grpc::ServerContextBase& context_;
  const absl::Time start_;
  // The client's deadline, read when the call's metadata arrives (the
  // context is not read in the destructor).
  std::chrono::system_clock::time_point deadline_ =
      std::chrono::system_clock::time_point::max();
  std::string correlation_id_;
  bool recorded_ = false;
};

}  // namespace

RpcMetrics::RpcMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("crm_grpc_server_requests_total")
                    .Help("gRPC calls finished, by method and status code.")
                    .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("crm_grpc_server_request_duration_seconds")
                     .Help("Time from a gRPC call's arrival to its status.")
                     .Register(registry)),
      in_flight_(prometheus::BuildGauge()
                     .Name("crm_grpc_server_requests_in_flight")
                     .Help("gRPC calls started and not finished.")
                     .Register(registry)) {}

RpcMetrics::Method& RpcMetrics::ForMethod(const char* grpc_method) {
  const absl::string_view path(grpc_method != nullptr ? grpc_method : "");
  {
    absl::ReaderMutexLock lock(&mutex_);
    auto found = methods_.find(path);
    if (found != methods_.end()) return *found->second;
  }
  const std::string label =
      MethodLabel(std::string_view(path.data(), path.size()));
  // Unknown paths share one entry, keyed "": clients choose them freely.
  const std::string key = label.empty() ? "" : std::string(path);
  absl::MutexLock lock(&mutex_);
  std::unique_ptr<Method>& method = methods_[key];
  if (method == nullptr)
    method = Create(label.empty() ? kUnknownMethod : label);
  return *method;
}

std::unique_ptr<RpcMetrics::Method> RpcMetrics::Create(
    const std::string& label) {
  auto method = std::make_unique<Method>();
  method->label = label;
  method->duration = &durations_.Add({{"method", label}}, DurationBuckets());
  method->in_flight = &in_flight_.Add({{"method", label}});
  return method;
}

void RpcMetrics::CountRequest(Method& method, grpc::StatusCode code) {
  const int index = static_cast<int>(code);
  if (index < 0 || index >= static_cast<int>(method.requests.size())) {
    CountRequest(method, grpc::StatusCode::UNKNOWN);
    return;
  }
  prometheus::Counter* counter =
      method.requests[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Family::Add returns the same counter for the same labels.
    counter = &requests_.Add(
        {{"method", method.label}, {"code", std::string(CodeName(code))}});
    method.requests[index].store(counter, std::memory_order_release);
  }
  counter->Increment();
}

grpc::experimental::Interceptor* RpcInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new RpcInterceptor(metrics_, *info);
}

bool IsValidCorrelationId(std::string_view id) {
  if (id.empty() || id.size() > kMaxCorrelationIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
           c == '-';
  });
}

std::string NewCorrelationId() {
  thread_local absl::BitGen bits;
  const uint64_t high = absl::Uniform<uint64_t>(bits);
  const uint64_t low = absl::Uniform<uint64_t>(bits);
  // Version 4 (random), variant 1 (RFC 4122).
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", high >> 32,
                     (high >> 16) & 0xffff, high & 0x0fff,
                     ((low >> 48) & 0x3fff) | 0x8000, low & 0xffffffffffff);
}

std::string CorrelationId(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto found = metadata.find(grpc::string_ref(kCorrelationIdKey));
  if (found == metadata.end()) return "";
  return std::string(found->second.data(), found->second.size());
}

absl::Duration TimeLeft(const grpc::ServerContextBase& context,
                        absl::Duration cap) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return cap;
  const absl::Duration left = absl::FromChrono(deadline) - absl::Now();
  return std::clamp(left, absl::ZeroDuration(), cap);
}

}  // namespace crm::server
