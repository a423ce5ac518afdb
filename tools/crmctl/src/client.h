// crmctl's connection to the contact service: the global flags, the gRPC
// channel and stub, per-call contexts carrying the caller's metadata and
// deadline, and how a failed call becomes a message and an exit code.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "crm/contact/v1/contact_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace crm::crmctl {

// crmctl's exit codes (docs/crmctl.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;    // Bad flags or arguments.
inline constexpr int kExitRefused = 2;  // The server answered with an error.
inline constexpr int kExitUnreachable = 3;  // No server at --server.

// The flags every command shares.
struct GlobalOptions {
  std::string server = "127.0.0.1:50051";  // host:port; CRM_SERVER
  std::string tenant;                      // CRM_TENANT
  std::string actor;                       // CRM_ACTOR
  bool json = false;                       // One JSON object per line.
  double timeout_seconds = 30;             // Per unary call.
};

// One channel to --server. Not copyable; thread-compatible.
class Client {
 public:
  explicit Client(const GlobalOptions& options);

  const GlobalOptions& options() const { return options_; }
  contact::v1::ContactService::Stub& stub() { return *stub_; }

  // Waits (at most the timeout, capped at 10 s) until the channel connects.
  // False when the server cannot be reached: the caller exits
  // kExitUnreachable after ReportUnreachable().
  bool Connect();

  // A context with the tenant and actor metadata and, unless `streaming`,
  // the --timeout deadline.
  std::unique_ptr<grpc::ClientContext> Context(bool streaming = false) const;

  // Prints what a failed call said (code, message, each field violation)
  // to stderr and returns the exit code: kExitUnreachable when the server
  // could not be reached, kExitRefused otherwise.
  int ReportError(const grpc::Status& status);

  // Prints that --server cannot be reached; returns kExitUnreachable.
  int ReportUnreachable() const;

 private:
  GlobalOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<contact::v1::ContactService::Stub> stub_;
};

// "contacts/<id>" for a bare id; a resource name is returned unchanged.
std::string ContactName(const std::string& name_or_id);

}  // namespace crm::crmctl
