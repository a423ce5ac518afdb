// One ImportContacts stream for `crm-bench contact`: a header, then `rows`
// CSV-like rows (names, email, owner, job title; PersonAt), sent one after
// another as fast as gRPC's flow control lets them, then a half-close; the
// run ends with the server's final summary.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/v1/contact_service.grpc.pb.h"

namespace crm::bench {

struct ImportRun {
  uint64_t rows = 0;
  contact::v1::ImportProgress progress;  // The final summary.
  absl::Duration elapsed;                // From the call's start to OK.
};

// Imports `rows` rows as import `import_id` (the context's tenant and
// actor), dedupe rule "always create". Errors: the call's status
// (UNIMPLEMENTED while the service has no import); INTERNAL when the final
// summary does not count every row as created; DEADLINE_EXCEEDED at
// `timeout`.
absl::StatusOr<ImportRun> RunImport(
    contact::v1::ContactService::Stub& stub,
    std::unique_ptr<grpc::ClientContext> context, const std::string& import_id,
    uint64_t rows, absl::Duration timeout);

}  // namespace crm::bench
