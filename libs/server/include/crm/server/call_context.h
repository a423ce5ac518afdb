// What a gRPC handler reads from its call: the correlation id and the time
// it may take.
//
//   grpc::ServerUnaryReactor* GetContact(grpc::CallbackServerContext* context,
//                                        const GetContactRequest* request,
//                                        Contact* response) override {
//     crm::server::ScopedCorrelationId correlation(
//         crm::server::CorrelationId(*context));
//     absl::Duration budget = crm::server::TimeLeft(*context, kMaxWait);
//     ... engine.WaitForPosition(name, position, budget) ...
//   }
#pragma once

#include <string>

#include "absl/time/time.h"

namespace grpc {
class ServerContextBase;
}

namespace crm::server {

// The metadata key carrying a call's correlation id, both ways.
inline constexpr char kCorrelationIdKey[] = "x-correlation-id";

// The call's correlation id. ServiceHost's interceptor makes sure every call
// has one: the client's "x-correlation-id" when it sent a valid one (1 to 128
// characters of [A-Za-z0-9._:-]), otherwise a new UUID; it is also sent back
// in the response's initial metadata. Empty only for a call that did not go
// through a ServiceHost.
std::string CorrelationId(const grpc::ServerContextBase& context);

// How long the handler may still work on the call: until the client's
// deadline, and at most `cap` (also when the client set no deadline). Zero
// once the deadline has passed. Bound every wait of the handler with it.
absl::Duration TimeLeft(const grpc::ServerContextBase& context,
                        absl::Duration cap);

}  // namespace crm::server
