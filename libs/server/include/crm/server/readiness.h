// Readiness checks for ServiceHost::Options::readiness: the process reports
// SERVING on grpc.health.v1 once its check returns OK (DESIGN.md §9).
#pragma once

#include "absl/status/status.h"

namespace crm::projection {
class ProjectionEngine;
}

namespace crm::server {

// OK when every projection of `engine` is live (caught up with the log).
// Otherwise UNAVAILABLE naming the first projection that is not, with its
// state, position and lag, e.g. "projection contacts_by_email is building:
// at position 1200 of 50000 (lag 48800)"; for a failed one the message
// carries its error.
absl::Status ProjectionsReady(const projection::ProjectionEngine& engine);

}  // namespace crm::server
