// The server interceptor every ServiceHost installs: correlation ids, the
// per-method request metrics and the access log. Internal to libs/server.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"

namespace prometheus {
class Counter;
template <typename T>
class Family;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace crm::server {

// The request metrics' families, and each method's metrics, created on the
// method's first call.
class RpcMetrics {
 public:
  // The metrics of one method label.
  struct Method {
    std::string label;
    prometheus::Histogram* duration = nullptr;
    prometheus::Gauge* in_flight = nullptr;
    // By grpc::StatusCode (0 to 16), created on first use.
    std::array<std::atomic<prometheus::Counter*>, 17> requests{};
  };

  explicit RpcMetrics(prometheus::Registry& registry);

  // The metrics of `grpc_method` ("/package.Service/Method"); methods that
  // no linked proto defines share the label "unknown".
  Method& ForMethod(const char* grpc_method);

  void CountRequest(Method& method, grpc::StatusCode code);

 private:
  std::unique_ptr<Method> Create(const std::string& label);

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Gauge>& in_flight_;

  absl::Mutex mutex_;
  // Keyed by the gRPC method path; the "unknown" entry under "".
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_
      ABSL_GUARDED_BY(mutex_);
};

// Creates the interceptor of each call. `metrics` must outlive the server.
class RpcInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcInterceptorFactory(RpcMetrics& metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  RpcMetrics& metrics_;
};

// A correlation id as the interceptor accepts it from a client: 1 to 128
// characters of [A-Za-z0-9._:-].
bool IsValidCorrelationId(std::string_view id);

// A new random (version 4) UUID, e.g. "3f0e8d1c-5b9a-4c1e-8e9f-0a1b2c3d4e5f".
std::string NewCorrelationId();

}  // namespace crm::server
