#include "client.h"

#include <algorithm>
#include <iostream>

#include "crm/contact/api/contact_service.h"
#include "crm/contact/api/grpc_status.h"
#include "fmt/format.h"

namespace crm::crmctl {
namespace {

std::chrono::system_clock::time_point DeadlineIn(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(seconds));
}

// gRPC's code names as in google.rpc.Code.
const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

Client::Client(const GlobalOptions& options)
    : options_(options),
      channel_(grpc::CreateChannel(options.server,
                                   grpc::InsecureChannelCredentials())),
      stub_(contact::v1::ContactService::NewStub(channel_)) {}

bool Client::Connect() {
  const double wait = std::clamp(options_.timeout_seconds, 0.1, 10.0);
  return channel_->WaitForConnected(DeadlineIn(wait));
}

std::unique_ptr<grpc::ClientContext> Client::Context(bool streaming) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!streaming) context->set_deadline(DeadlineIn(options_.timeout_seconds));
  if (!options_.tenant.empty()) {
    context->AddMetadata(contact::api::kTenantKey, options_.tenant);
  }
  if (!options_.actor.empty()) {
    context->AddMetadata(contact::api::kActorKey, options_.actor);
  }
  return context;
}

int Client::ReportError(const grpc::Status& status) {
  // The call failed before reaching a server: the channel is down.
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      channel_->GetState(false) != GRPC_CHANNEL_READY) {
    std::cerr << fmt::format("crmctl: lost the server at {}: {}\n",
                             options_.server, status.error_message());
    return kExitUnreachable;
  }
  std::cerr << fmt::format("crmctl: the server refused: {}: {}\n",
                           CodeName(status.error_code()),
                           status.error_message());
  for (const contact::FieldViolation& v :
       contact::api::BadRequestViolations(status)) {
    std::cerr << fmt::format("  {}: {}\n", v.field, v.description);
  }
  return kExitRefused;
}

int Client::ReportUnreachable() const {
  std::cerr << fmt::format(
      "crmctl: cannot reach the contact service at {}; check --server (or "
      "CRM_SERVER) and that the service runs\n",
      options_.server);
  return kExitUnreachable;
}

std::string ContactName(const std::string& name_or_id) {
  if (name_or_id.find('/') != std::string::npos) return name_or_id;
  return "contacts/" + name_or_id;
}

}  // namespace crm::crmctl
