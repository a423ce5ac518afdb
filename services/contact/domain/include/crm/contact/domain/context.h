// What every command and every event carries besides its own fields.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace crm::contact {

// Who asks, for which tenant, when. Built by the API layer from the request
// metadata (later from the bearer token) and the clock; the domain reads no
// clock itself.
struct CommandContext {
  // The tenant every read and write is scoped by: 1 to 63 bytes of
  // [a-z0-9_-], starting with a letter or digit.
  std::string tenant;

  // Who: a user id, or "service:<name>" for automation. 1 to 256 bytes.
  std::string actor;

  // The time of the request; becomes the events' occurred_at.
  absl::Time now = absl::UnixEpoch();

  // ISO 3166-1 alpha-2 region ("DE", "US") for phone numbers entered
  // without a "+country" prefix; empty means such numbers are refused.
  std::string default_region;
};

// Checks the context: INVALID_ARGUMENT naming "tenant", "actor" or
// "default_region" when one is malformed.
absl::Status ValidateCommandContext(const CommandContext& context);

// What Apply needs to know about a stored event besides its payload (from
// its crm.common.v1.EventEnvelope).
struct EventMeta {
  std::string tenant;
  std::string actor;
  absl::Time occurred_at = absl::UnixEpoch();
};

}  // namespace crm::contact
