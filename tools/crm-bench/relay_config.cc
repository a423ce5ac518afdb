#include "relay_config.h"

#include "bench_flags.h"

namespace crm::bench {

void AddRelayFlags(CLI::App& command, RelayBenchFlags& flags) {
  AddEventsFlag(command, flags.events,
                "Events in the log the relay publishes (the mock keeps only "
                "the last ~5 MiB of each partition; only delivery is counted)");
  AddStreamsFlag(command, flags.streams);
  AddPayloadBytesFlag(command, flags.payload_bytes);
  command.add_option("--brokers", flags.brokers, "Brokers of the mock cluster")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  command
      .add_option("--partitions", flags.partitions,
                  "Partitions of the topics (replication: min(brokers, 3))")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  command
      .add_option("--max-in-flight-requests", flags.max_in_flight_requests,
                  "max.in.flight.requests.per.connection of the relay and its "
                  "ceiling; one result per value (repeat, or separate with "
                  "commas)")
      ->delimiter(',')
      ->check(CLI::Range(1, 5))
      ->capture_default_str();
  command
      .add_option("--linger-ms", flags.linger_ms,
                  "linger.ms of the relay and its ceiling")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  command
      .add_option("--broker-rtt-ms", flags.broker_rtt_ms,
                  "Delay every mock broker adds to its responses, standing "
                  "in for a network round trip")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  command
      .add_option("--repeat", flags.repeat,
                  "Runs of the relay and of its ceiling per result, "
                  "alternating (ABBA)")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  AddScratchDirFlag(command, flags.dir);
}

std::map<std::string, std::string> RelayKafkaConfig(
    const ProducerSettings& settings) {
  return {
      {"bootstrap.servers", settings.bootstrap},
      {"linger.ms", std::to_string(settings.linger_ms)},
      {"partitioner", kRelayPartitioner},
      {"max.in.flight.requests.per.connection",
       std::to_string(settings.max_in_flight_requests)},
  };
}

std::map<std::string, std::string> CeilingKafkaConfig(
    const ProducerSettings& settings) {
  std::map<std::string, std::string> config = RelayKafkaConfig(settings);
  config["enable.idempotence"] = "true";
  config["acks"] = "all";
  config["message.timeout.ms"] = "0";
  config["queue.buffering.max.messages"] =
      std::to_string(settings.max_queued_messages);
  return config;
}

TimedPart SteadyPart(const RunTiming& run) {
  if (run.delivered_at_first >= run.events || run.first_delivery >= run.end) {
    return {run.events, run.end};
  }
  return {run.events - run.delivered_at_first, run.end - run.first_delivery};
}

std::vector<RelayTurn> InterleavedTurns(int repeat) {
  std::vector<RelayTurn> turns;
  for (int turn = 0; turn < 2 * repeat; ++turn) {
    // Turns 0, 3, 4, 7, 8, ... are the ceiling's.
    turns.push_back(turn % 4 == 0 || turn % 4 == 3 ? RelayTurn::kCeiling
                                                   : RelayTurn::kRelay);
  }
  return turns;
}

}  // namespace crm::bench
