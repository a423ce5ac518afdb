// The flags of `crm-bench relay` and the pure decisions of the benchmark:
// which librdkafka settings the relay and its ceiling producer get, and in
// which order their runs alternate (docs/benchmarks.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "CLI/App.hpp"
#include "absl/time/time.h"

namespace crm::bench {

struct RelayBenchFlags {
  uint64_t events = 200'000;
  size_t streams = 100'000;
  size_t payload_bytes = 256;
  int brokers = 3;
  int partitions = 4;
  // One result line per value: the relay's default (1) is the main figure,
  // 5 is what a real cluster allows with idempotence.
  std::vector<int> max_in_flight_requests = {1, 5};
  int linger_ms = 5;      // The relay's default.
  int broker_rtt_ms = 0;  // Delay of every mock broker's responses.
  int repeat = 3;         // Runs of the relay and of the ceiling per value.
  std::string dir;        // Parent of the scratch directory.
};

// Adds the flags of `crm-bench relay` to `command`, with their checks.
void AddRelayFlags(CLI::App& command, RelayBenchFlags& flags);

// The producer settings a relay run and its ceiling run share.
struct ProducerSettings {
  std::string bootstrap;
  int max_in_flight_requests = 1;
  int linger_ms = 5;
  // Most messages produced and not yet reported delivered: the relay's
  // RelayOptions::max_in_flight, the ceiling's queue.buffering.max.messages.
  size_t max_queued_messages = 10'000;
};

// The partitioner of the relay (RelayOptions::kafka_config), and so of the
// ceiling.
inline constexpr char kRelayPartitioner[] = "murmur2_random";

// RelayOptions::kafka_config for a run: bootstrap.servers and the settings
// that shape throughput, each equal to the relay's documented default unless
// `settings` says otherwise. Set explicitly so that the ceiling gets the same
// values even if the relay's defaults change.
std::map<std::string, std::string> RelayKafkaConfig(
    const ProducerSettings& settings);

// The ceiling producer's complete librdkafka configuration: everything in
// RelayKafkaConfig(settings), plus what the relay forces or defaults that
// matters to delivery (enable.idempotence=true, acks=all,
// message.timeout.ms=0), and queue.buffering.max.messages =
// settings.max_queued_messages.
std::map<std::string, std::string> CeilingKafkaConfig(
    const ProducerSettings& settings);

// When a run's deliveries happened, measured from its start (creating the
// producer or starting the relay).
struct RunTiming {
  uint64_t events = 0;  // Delivered in the whole run.
  // The first time the run saw acknowledged deliveries, and how many events
  // were acknowledged then.
  absl::Duration first_delivery;
  uint64_t delivered_at_first = 0;
  absl::Duration end;  // All `events` delivered.
};

// The part of a run that is timed: from the first acknowledged delivery to
// the last, with the events acknowledged in between. Starting a producer
// (connections, producer id, topic metadata: up to a second with librdkafka
// 2.0.2) is left out, since a relay starts once and then runs. When the
// first sighting already covered every event, the whole run.
struct TimedPart {
  uint64_t events = 0;
  absl::Duration elapsed;
};
TimedPart SteadyPart(const RunTiming& run);

// Which of the two a turn measures.
enum class RelayTurn { kCeiling, kRelay };

// The turns of `repeat` rounds, each one run of both, in ABBA order
// (ceiling, relay, relay, ceiling, ceiling, ...) so that a drift in the
// machine's speed affects both alike. REQUIRES: repeat >= 0.
std::vector<RelayTurn> InterleavedTurns(int repeat);

}  // namespace crm::bench
