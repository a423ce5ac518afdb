// ServiceHost: runs a service's gRPC server the way every CRM process does
// (DESIGN.md §9-§11), and shuts it down cleanly on SIGTERM.
//
// It builds the grpc::Server from a ServerConfig with:
//  - the service's gRPC services;
//  - grpc.health.v1 (Check and Watch): NOT_SERVING until the service's
//    readiness check first returns OK (e.g. all projections caught up), then
//    SERVING until shutdown, then NOT_SERVING. Readiness is a latch: once
//    SERVING, a later lag does not flip it back. Named services (the ones
//    registered, and "grpc.health.v1.Health") share the process's status;
//    other names get NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch);
//  - server reflection (grpc.reflection.v1alpha), so grpcurl-style tools
//    can list and call the services;
//  - max_message_bytes on received and sent messages (larger ones fail the
//    call with RESOURCE_EXHAUSTED);
//  - TLS when a certificate and key are configured, requiring client
//    certificates signed by the client CA when one is configured;
//  - an interceptor that gives every call a correlation id (call_context.h),
//    counts it in crm_grpc_server_requests_total{method,code}, times it in
//    crm_grpc_server_request_duration_seconds{method} and tracks
//    crm_grpc_server_requests_in_flight{method}, and logs it at debug level
//    (warn for INTERNAL, UNKNOWN and DATA_LOSS). Methods not defined in a
//    linked proto are labelled "unknown", so clients cannot grow the label
//    set.
//
// Once SERVING, it writes the ready file (config.ready_file), atomically
// (a temporary file renamed over it):
//   {"service":"contact","pid":4242,"grpc_address":"127.0.0.1:41234",
//    "metrics_address":"127.0.0.1:39011"}
// and removes it when shutdown begins, so the file exists only while the
// process serves.
//
// Shutdown, on SIGTERM or SIGINT (or RequestShutdown()), within
// config.shutdown_grace from the signal:
//  1. health NOT_SERVING (Watch streams get it and end), ready file removed,
//     options.on_shutdown run (services end their own long-lived streams);
//  2. the server stops accepting calls and drains the calls in flight; those
//     still running at the drain deadline are cancelled (handlers see
//     IsCancelled()). The drain deadline leaves the shutdown steps a reserve
//     of a quarter of the grace period (at most 5 s) when there are steps;
//  3. the service's shutdown steps run in order (e.g. flush the relay, then
//     close the store), each given the overall deadline; every step runs
//     even when an earlier one failed;
//  4. Wait() returns: OK, or the first step's error. main then returns 0 (or
//     1 on an error).
// If the drain and steps overrun the grace period by more than 2 s (a
// handler or step ignoring its deadline), the host logs an error and ends
// the process with exit code 1 instead of hanging until it is killed.
//
//   crm::server::ServiceHost::Options options;
//   options.services = {&contact_service};
//   options.readiness = [&] { return crm::server::ProjectionsReady(*engine); };
//   options.shutdown_steps = {
//       {"flush relay", [&](absl::Time deadline) {
//          return relay->Flush(deadline - absl::Now()); }},
//       {"close store", [&](absl::Time) {
//          metric_registrations.clear();  // Before what they read.
//          relay.reset(); engine.reset(); store.reset();
//          return absl::OkStatus(); }}};
//   ASSIGN_OR_RETURN(auto host, crm::server::ServiceHost::Start(
//                                   config, *metrics, std::move(options)));
//   return host->Wait();
//
// Signals: a SIGTERM/SIGINT handler that only writes the signal number to a
// pipe; a thread of the host reads it. Only one host handles signals at a
// time; the previous handlers are restored when it is destroyed.
//
// Thread safety: RequestShutdown, serving and the accessors may be called
// from any thread; Wait from one thread, once.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/server/config.h"

namespace grpc {
class Service;
}

namespace crm::server {

class MetricsEndpoint;
class ServiceHostImpl;

// One step of the service's shutdown, run after the gRPC server drained.
struct ShutdownStep {
  std::string name;  // For the log: "flush relay".
  // Must finish by `deadline` (the end of the grace period); its error is
  // logged and returned by Wait().
  std::function<absl::Status(absl::Time deadline)> run;
};

class ServiceHost {
 public:
  struct Options {
    // The service's gRPC services (synchronous or callback API; not the
    // async API). Not owned; they must outlive the host.
    std::vector<grpc::Service*> services;

    // Polled every readiness_poll_interval until it returns OK; its error
    // message (what the process waits for) is logged at info level when it
    // changes, and at most every 10 s. Default: ready at once.
    std::function<absl::Status()> readiness;
    absl::Duration readiness_poll_interval = absl::Milliseconds(100);

    // Run in order after the drain; see the file comment.
    std::vector<ShutdownStep> shutdown_steps;

    // Run in order when shutdown begins, after health turns NOT_SERVING and
    // before the server drains its calls: for services to end long-lived
    // streams (a change feed) that would otherwise hold the drain until its
    // deadline. Each must return promptly (not wait for the calls to end).
    std::vector<std::function<void()>> on_shutdown;

    // Shut down on SIGTERM and SIGINT. Default: true. Tests that run a host
    // inside the test process set false and call RequestShutdown().
    bool handle_signals = true;
  };

  // Builds and starts the server on config.grpc_listen, reporting to
  // `metrics`. Returns at once; health is NOT_SERVING until readiness.
  // Errors: INVALID_ARGUMENT when options.services holds a null or the same
  // service twice; UNAVAILABLE when the address cannot be bound or a TLS
  // file cannot be read; FAILED_PRECONDITION when handle_signals is set
  // and another host already handles signals.
  // REQUIRES: `metrics` outlives the host.
  static absl::StatusOr<std::unique_ptr<ServiceHost>> Start(
      const ServerConfig& config, MetricsEndpoint& metrics, Options options);

  // If Wait() did not run: shuts down as Wait() does (steps included).
  ~ServiceHost();

  ServiceHost(const ServiceHost&) = delete;
  ServiceHost& operator=(const ServiceHost&) = delete;

  // The bound gRPC address: config.grpc_listen's host and the actual port.
  const HostPort& grpc_address() const;

  // Whether health reports SERVING.
  bool serving() const;

  // Blocks until a termination signal or RequestShutdown(), or an internal
  // failure (the ready file cannot be written), then shuts down (see the
  // file comment) and returns OK, the ready file's error, or the first
  // failing step's error. FAILED_PRECONDITION when called again.
  absl::Status Wait();

  // Makes Wait() shut down. Any thread; not from a signal handler.
  void RequestShutdown();

 private:
  explicit ServiceHost(std::unique_ptr<ServiceHostImpl> impl);

  std::unique_ptr<ServiceHostImpl> impl_;
};

}  // namespace crm::server
