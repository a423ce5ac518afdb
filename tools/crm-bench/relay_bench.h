// `crm-bench relay`: how fast the outbox relay publishes a store's log to
// Kafka, next to a bare librdkafka producer sending the same messages to the
// same (in-process mock) cluster in the same run (docs/benchmarks.md).
#pragma once

#include "absl/status/status.h"
#include "bench_report.h"
#include "relay_config.h"

namespace crm::bench {

// Starts a mock cluster of flags.brokers brokers, fills a store with
// flags.events events, and prints one `relay.publish` result per value of
// flags.max_in_flight_requests: events/s from OutboxRelay::Start until its
// cursor covers the whole log (Flush returns), against a bare idempotent
// producer's events/s for the same messages, over flags.repeat alternating
// runs of each.
absl::Status RunRelayBench(const RelayBenchFlags& flags,
                           BenchReporter& reporter);

}  // namespace crm::bench
