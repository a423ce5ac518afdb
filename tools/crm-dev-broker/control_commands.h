// The dev broker's control commands: one text line in, one reply line out,
// each command mapped to one rd_kafka_mock_* call of librdkafka 2.0.2.
//
//   ControlCommands commands(cluster, /*brokers=*/3);
//   commands.Execute("broker-down 2");                 // "ok broker 2 down"
//   commands.Execute("request-errors Produce NOT_LEADER_FOR_PARTITION 3");
//   commands.Execute("brokr-down 2");  // "error unknown command ... accepted:
//   ..."
//
// The wire protocol around it (TCP, line limits) is in control_server.h; the
// command list is in Usage() and libs/bus/README.md.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace crm::dev_broker {

// Thread safety: Execute() may be called from any one thread at a time (the
// mock cluster itself is thread-safe; this class holds no mutable state).
class ControlCommands {
 public:
  // REQUIRES: `cluster` outlives this object; its brokers have the ids
  // 1..`brokers` (as rd_kafka_mock_cluster_new() numbers them).
  ControlCommands(rd_kafka_mock_cluster_t* cluster, int brokers);

  // Runs one command line (without its newline; a trailing '\r' is ignored)
  // and returns the reply line without its newline: "ok" or "ok <detail>"
  // when the mock applied the command, "error <message>" when the command is
  // malformed or the mock refused it (the message says what is accepted).
  // The reply never contains a newline.
  std::string Execute(std::string_view line) const;

  // One line per command ("broker-down <id>: ..."), for --help.
  static std::string Usage();

 private:
  using Args = std::vector<std::string_view>;
  struct Command;
  static const std::vector<Command>& Commands();

  absl::StatusOr<std::string> Ping(const Args& args) const;
  absl::StatusOr<std::string> BrokerDown(const Args& args) const;
  absl::StatusOr<std::string> BrokerUp(const Args& args) const;
  absl::StatusOr<std::string> AllBrokersDown(const Args& args) const;
  absl::StatusOr<std::string> AllBrokersUp(const Args& args) const;
  absl::StatusOr<std::string> BrokerRtt(const Args& args) const;
  absl::StatusOr<std::string> RequestErrors(const Args& args) const;
  absl::StatusOr<std::string> PartitionLeader(const Args& args) const;
  absl::StatusOr<std::string> TopicError(const Args& args) const;
  absl::StatusOr<std::string> CreateTopic(const Args& args) const;

  absl::StatusOr<int32_t> ParseBrokerId(std::string_view text,
                                        bool allow_none) const;
  absl::StatusOr<std::string> SetBrokerUp(int32_t id, bool up) const;

  rd_kafka_mock_cluster_t* cluster_;
  int brokers_;
};

// Kafka's API key of a request, by its protocol name (case-insensitive, e.g.
// "Produce", "Fetch", "OffsetCommit", "JoinGroup") or number ("0").
// INVALID_ARGUMENT for anything else, with the accepted names in the message.
absl::StatusOr<int16_t> ParseApiKey(std::string_view text);

// A librdkafka error code by name as rd_kafka_err2name() gives it
// ("NOT_LEADER_FOR_PARTITION", "_TRANSPORT"; case-insensitive, an
// "RD_KAFKA_RESP_ERR_" prefix is allowed) or by number ("6", "-195").
// INVALID_ARGUMENT when librdkafka knows no such error.
absl::StatusOr<rd_kafka_resp_err_t> ParseErrorCode(std::string_view text);

}  // namespace crm::dev_broker
