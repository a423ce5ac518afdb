#include "crm/server/readiness.h"

#include <string>

#include "crm/projection/projection.h"
#include "fmt/format.h"

namespace crm::server {

absl::Status ProjectionsReady(const projection::ProjectionEngine& engine) {
  for (const projection::ProjectionStatus& status : engine.Status()) {
    if (status.state == projection::ProjectionState::kLive) continue;
    if (status.state == projection::ProjectionState::kFailed) {
      return absl::UnavailableError(fmt::format(
          "projection {} failed at position {}: {}; fix it and restart",
          status.name, status.target_position,
          std::string(status.error.message())));
    }
    return absl::UnavailableError(
        fmt::format("projection {} is {}: at position {} of {} (lag {})",
                    status.name, projection::ProjectionStateName(status.state),
                    status.target_position, status.log_position, status.lag));
  }
  return absl::OkStatus();
}

}  // namespace crm::server
