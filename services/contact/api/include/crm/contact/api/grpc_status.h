// The one place where statuses cross between absl (the domain, the stores)
// and gRPC (the API), both ways (STYLE.md: errors converted in one place).
//
// INVALID_ARGUMENT statuses carrying field violations (field_violation.h)
// go out with a google.rpc.Status in the gRPC status details whose details
// hold one google.rpc.BadRequest (type URL
// "type.googleapis.com/google.rpc.BadRequest") naming each field, as AIP-193
// asks. No Debian package ships the google.rpc protos for C++, so the two
// messages are written and read here in their wire format (field numbers of
// googleapis' google/rpc/status.proto and error_details.proto); a client
// with the official generated classes parses them as usual.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "crm/contact/domain/field_violation.h"
#include "grpcpp/support/status.h"

namespace crm::contact::api {

// The gRPC status of `status`: same code and message; for INVALID_ARGUMENT
// with field violations, the details described above, each field path
// prefixed with `field_prefix` ("contact.") unless it names a request field
// listed in `request_fields` ("update_mask"; an entry ending in "." such as
// "contact." matches every path starting with it).
grpc::Status ToGrpcStatus(const absl::Status& status,
                          std::string_view field_prefix = {},
                          const std::vector<std::string>& request_fields = {});

// The absl status of a gRPC status (for clients and tests): same code and
// message, field violations of a BadRequest in its details carried over as
// a FieldViolations payload.
absl::Status FromGrpcStatus(const grpc::Status& status);

// The field violations of the google.rpc.BadRequest in `status`'s details;
// empty when there is none or the details do not parse.
std::vector<FieldViolation> BadRequestViolations(const grpc::Status& status);

// The google.rpc.Status of `status`'s details: its code, or -1 when the
// details are empty or do not parse.
int DetailsCode(const grpc::Status& status);

}  // namespace crm::contact::api
