// The ceiling of `crm-bench relay`: the relay's messages produced by a bare
// librdkafka producer, with no event store, no cursor and no bookkeeping of
// its own (docs/benchmarks.md).
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "relay_config.h"
#include "relay_messages.h"

namespace crm::bench {

// Creates a producer with exactly `config` (librdkafka properties), produces
// every message to `topic` (copied, with headers event_id and type, as the
// relay does), waits for all delivery reports, and destroys the producer.
// Times are from creating the producer; the first delivery is the first
// poll that served a successful report.
// Errors: INVALID_ARGUMENT for a bad property; a converted librdkafka error
// when a produce call or a delivery fails; DEADLINE_EXCEEDED when the
// reports do not all arrive within `timeout`; CANCELLED on a stop request.
absl::StatusOr<RunTiming> ProduceAll(
    const std::map<std::string, std::string>& config, const std::string& topic,
    const RelayMessages& messages, absl::Duration timeout);

}  // namespace crm::bench
