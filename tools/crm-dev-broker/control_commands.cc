#include "control_commands.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "absl/status/status.h"
#include "crm/base/status_macros.h"
#include "fmt/format.h"

namespace crm::dev_broker {
namespace {

// Kafka's request types 0-28: everything librdkafka 2.0.2's mock serves
// (Produce, Fetch, groups, offsets, transactions) and the neighbours it
// ignores. The numbers are Kafka protocol constants (RD_KAFKAP_* in
// librdkafka's private rdkafka_protocol.h).
struct ApiKeyName {
  int16_t key;
  std::string_view name;
};
constexpr ApiKeyName kApiKeys[] = {
    {0, "Produce"},
    {1, "Fetch"},
    {2, "ListOffsets"},
    {3, "Metadata"},
    {4, "LeaderAndIsr"},
    {5, "StopReplica"},
    {6, "UpdateMetadata"},
    {7, "ControlledShutdown"},
    {8, "OffsetCommit"},
    {9, "OffsetFetch"},
    {10, "FindCoordinator"},
    {11, "JoinGroup"},
    {12, "Heartbeat"},
    {13, "LeaveGroup"},
    {14, "SyncGroup"},
    {15, "DescribeGroups"},
    {16, "ListGroups"},
    {17, "SaslHandshake"},
    {18, "ApiVersions"},
    {19, "CreateTopics"},
    {20, "DeleteTopics"},
    {21, "DeleteRecords"},
    {22, "InitProducerId"},
    {23, "OffsetForLeaderEpoch"},
    {24, "AddPartitionsToTxn"},
    {25, "AddOffsetsToTxn"},
    {26, "EndTxn"},
    {27, "WriteTxnMarkers"},
    {28, "TxnOffsetCommit"},
};

// Bounds that keep one command cheap for the mock.
constexpr int kMaxRttMs = 60'000;
constexpr int kMaxErrorCount = 10'000;
constexpr int kMaxPartitions = 256;
constexpr size_t kMaxTopicLength = 249;  // Kafka's own limit.
constexpr std::string_view kErrorPrefix = "RD_KAFKA_RESP_ERR_";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// A whole decimal integer in [min, max]; `what` names it in the message.
absl::StatusOr<int64_t> ParseInt(std::string_view what, std::string_view text,
                                 int64_t min, int64_t max) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < min || value > max) {
    return absl::InvalidArgumentError(
        fmt::format("{} must be a whole number from {} to {}, not '{}'", what,
                    min, max, text));
  }
  return value;
}

absl::Status ValidateTopic(std::string_view topic) {
  const bool legal_chars = std::all_of(topic.begin(), topic.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
           c == '_' || c == '-';
  });
  if (topic.empty() || topic.size() > kMaxTopicLength || !legal_chars) {
    return absl::InvalidArgumentError(fmt::format(
        "topic name '{}' is not valid; use 1 to {} of a-z A-Z 0-9 . _ -", topic,
        kMaxTopicLength));
  }
  return absl::OkStatus();
}

absl::Status MockResult(std::string_view what, rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::FailedPreconditionError(
      fmt::format("the mock refused {}: {} ({})", what, rd_kafka_err2name(err),
                  rd_kafka_err2str(err)));
}

std::vector<std::string_view> SplitWords(std::string_view line) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < line.size()) {
    const size_t start = line.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) break;
    size_t end = line.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = line.size();
    words.push_back(line.substr(start, end - start));
    pos = end;
  }
  return words;
}

// `text` wrapped at 78 columns, each line starting with `indent`.
std::string Wrap(std::string_view text, std::string_view indent) {
  std::string wrapped;
  std::string line(indent);
  for (const std::string_view word : SplitWords(text)) {
    if (line.size() > indent.size() && line.size() + 1 + word.size() > 78) {
      wrapped += line + '\n';
      line = indent;
    }
    if (line.size() > indent.size()) line += ' ';
    line += word;
  }
  return wrapped + line + '\n';
}

// Replies are single lines: control characters in echoed input become '?'.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (std::iscntrl(static_cast<unsigned char>(c))) c = '?';
  }
  return text;
}

}  // namespace

struct ControlCommands::Command {
  std::string_view name;
  std::string_view args;  // Usage of the arguments, "" for none.
  std::string_view help;
  size_t min_args;
  size_t max_args;
  absl::StatusOr<std::string> (ControlCommands::*run)(const Args&) const;
};

const std::vector<ControlCommands::Command>& ControlCommands::Commands() {
  static const auto* const commands = new std::vector<Command>{
      {"ping", "", "answers 'ok pong'", 0, 0, &ControlCommands::Ping},
      {"broker-down", "<id>",
       "disconnects broker <id> and refuses its connections "
       "(rd_kafka_mock_broker_set_down)",
       1, 1, &ControlCommands::BrokerDown},
      {"broker-up", "<id>",
       "accepts connections on broker <id> again "
       "(rd_kafka_mock_broker_set_up)",
       1, 1, &ControlCommands::BrokerUp},
      {"all-brokers-down", "", "broker-down on every broker", 0, 0,
       &ControlCommands::AllBrokersDown},
      {"all-brokers-up", "", "broker-up on every broker", 0, 0,
       &ControlCommands::AllBrokersUp},
      {"broker-rtt", "<id> <ms>",
       "delays broker <id>'s responses by <ms> (0 to 60000; "
       "rd_kafka_mock_broker_set_rtt)",
       2, 2, &ControlCommands::BrokerRtt},
      {"request-errors", "<api> <error> [count]",
       "the next [count] (default 1) requests of <api> (a Kafka API name "
       "such as Produce or its key) fail with <error> (a librdkafka error "
       "name such as NOT_LEADER_FOR_PARTITION or its code) "
       "(rd_kafka_mock_push_request_errors)",
       2, 3, &ControlCommands::RequestErrors},
      {"partition-leader", "<topic> <partition> <broker-id>",
       "moves the partition's leader, -1 for none; creates the topic if "
       "needed (rd_kafka_mock_partition_set_leader)",
       3, 3, &ControlCommands::PartitionLeader},
      {"topic-error", "<topic> <error>",
       "Metadata requests report <error> for the topic, NO_ERROR clears it "
       "(rd_kafka_mock_topic_set_error)",
       2, 2, &ControlCommands::TopicError},
      {"create-topic", "<name> <partitions>",
       "creates a topic with 1 to 256 partitions "
       "(rd_kafka_mock_topic_create)",
       2, 2, &ControlCommands::CreateTopic},
  };
  return *commands;
}

ControlCommands::ControlCommands(rd_kafka_mock_cluster_t* cluster, int brokers)
    : cluster_(cluster), brokers_(brokers) {}

std::string ControlCommands::Usage() {
  std::string usage;
  for (const Command& command : Commands()) {
    usage += fmt::format("  {}{}{}\n", command.name,
                         command.args.empty() ? "" : " ", command.args);
    usage += Wrap(command.help, "      ");
  }
  return usage;
}

std::string ControlCommands::Execute(std::string_view line) const {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string_view> words = SplitWords(line);
  std::string accepted;
  for (const Command& command : Commands()) {
    accepted += fmt::format("{}{}", accepted.empty() ? "" : ", ", command.name);
  }
  if (words.empty()) {
    return fmt::format("error empty command; accepted: {}", accepted);
  }
  const std::string_view name = words.front();
  const Args args(words.begin() + 1, words.end());
  for (const Command& command : Commands()) {
    if (command.name != name) continue;
    if (args.size() < command.min_args || args.size() > command.max_args) {
      return OneLine(
          fmt::format("error usage: {} {}", command.name, command.args));
    }
    absl::StatusOr<std::string> result = (this->*command.run)(args);
    if (!result.ok()) {
      return OneLine(fmt::format("error {}: {}", command.name,
                                 std::string(result.status().message())));
    }
    return OneLine(result->empty() ? "ok" : "ok " + *result);
  }
  return OneLine(
      fmt::format("error unknown command '{}'; accepted: {}", name, accepted));
}

absl::StatusOr<int32_t> ControlCommands::ParseBrokerId(std::string_view text,
                                                       bool allow_none) const {
  // -1 passes the range check only where "no broker" is allowed; 0 never.
  const absl::StatusOr<int64_t> id =
      ParseInt("broker id", text, allow_none ? -1 : 1, brokers_);
  if (!id.ok() || *id == 0) {
    return absl::InvalidArgumentError(fmt::format(
        "broker id '{}' is not one of this cluster's brokers 1 to {}{}", text,
        brokers_, allow_none ? " (or -1 for none)" : ""));
  }
  return static_cast<int32_t>(*id);
}

absl::StatusOr<std::string> ControlCommands::SetBrokerUp(int32_t id,
                                                         bool up) const {
  const rd_kafka_resp_err_t err =
      up ? rd_kafka_mock_broker_set_up(cluster_, id)
         : rd_kafka_mock_broker_set_down(cluster_, id);
  RETURN_IF_ERROR(
      MockResult(fmt::format("broker {} {}", id, up ? "up" : "down"), err));
  return fmt::format("broker {} {}", id, up ? "up" : "down");
}

absl::StatusOr<std::string> ControlCommands::Ping(const Args& /*args*/) const {
  return std::string("pong");
}

absl::StatusOr<std::string> ControlCommands::BrokerDown(
    const Args& args) const {
  ASSIGN_OR_RETURN(const int32_t id, ParseBrokerId(args[0], false));
  return SetBrokerUp(id, false);
}

absl::StatusOr<std::string> ControlCommands::BrokerUp(const Args& args) const {
  ASSIGN_OR_RETURN(const int32_t id, ParseBrokerId(args[0], false));
  return SetBrokerUp(id, true);
}

absl::StatusOr<std::string> ControlCommands::AllBrokersDown(
    const Args& /*args*/) const {
  for (int32_t id = 1; id <= brokers_; ++id) {
    RETURN_IF_ERROR(SetBrokerUp(id, false));
  }
  return fmt::format("{} brokers down", brokers_);
}

absl::StatusOr<std::string> ControlCommands::AllBrokersUp(
    const Args& /*args*/) const {
  for (int32_t id = 1; id <= brokers_; ++id) {
    RETURN_IF_ERROR(SetBrokerUp(id, true));
  }
  return fmt::format("{} brokers up", brokers_);
}

absl::StatusOr<std::string> ControlCommands::BrokerRtt(const Args& args) const {
  ASSIGN_OR_RETURN(const int32_t id, ParseBrokerId(args[0], false));
  ASSIGN_OR_RETURN(const int64_t rtt_ms,
                   ParseInt("rtt in ms", args[1], 0, kMaxRttMs));
  RETURN_IF_ERROR(MockResult(
      "broker-rtt",
      rd_kafka_mock_broker_set_rtt(cluster_, id, static_cast<int>(rtt_ms))));
  return fmt::format("broker {} rtt {} ms", id, rtt_ms);
}

absl::StatusOr<std::string> ControlCommands::RequestErrors(
    const Args& args) const {
  ASSIGN_OR_RETURN(const int16_t api_key, ParseApiKey(args[0]));
  ASSIGN_OR_RETURN(const rd_kafka_resp_err_t error, ParseErrorCode(args[1]));
  int64_t count = 1;
  if (args.size() == 3) {
    ASSIGN_OR_RETURN(count, ParseInt("count", args[2], 1, kMaxErrorCount));
  }
  const std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count),
                                                error);
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, errors.size(),
                                          errors.data());
  return fmt::format("{} x {} pushed for api key {}", count,
                     rd_kafka_err2name(error), api_key);
}

absl::StatusOr<std::string> ControlCommands::PartitionLeader(
    const Args& args) const {
  const std::string topic(args[0]);
  RETURN_IF_ERROR(ValidateTopic(topic));
  ASSIGN_OR_RETURN(const int64_t partition,
                   ParseInt("partition", args[1], 0, kMaxPartitions - 1));
  ASSIGN_OR_RETURN(const int32_t leader, ParseBrokerId(args[2], true));
  RETURN_IF_ERROR(MockResult(
      fmt::format("leader {} for {} [{}]", leader, topic, partition),
      rd_kafka_mock_partition_set_leader(
          cluster_, topic.c_str(), static_cast<int32_t>(partition), leader)));
  return fmt::format("{} [{}] leader {}", topic, partition, leader);
}

absl::StatusOr<std::string> ControlCommands::TopicError(
    const Args& args) const {
  const std::string topic(args[0]);
  RETURN_IF_ERROR(ValidateTopic(topic));
  ASSIGN_OR_RETURN(const rd_kafka_resp_err_t error, ParseErrorCode(args[1]));
  rd_kafka_mock_topic_set_error(cluster_, topic.c_str(), error);
  return fmt::format("{} error {}", topic, rd_kafka_err2name(error));
}

absl::StatusOr<std::string> ControlCommands::CreateTopic(
    const Args& args) const {
  const std::string topic(args[0]);
  RETURN_IF_ERROR(ValidateTopic(topic));
  ASSIGN_OR_RETURN(const int64_t partitions,
                   ParseInt("partitions", args[1], 1, kMaxPartitions));
  // The same replication as the suite's topics get at start.
  const int replication = std::min(brokers_, 3);
  RETURN_IF_ERROR(MockResult(
      fmt::format("creating topic {}", topic),
      rd_kafka_mock_topic_create(cluster_, topic.c_str(),
                                 static_cast<int>(partitions), replication)));
  return fmt::format("{} created with {} partitions", topic, partitions);
}

absl::StatusOr<int16_t> ParseApiKey(std::string_view text) {
  int64_t number = -1;
  if (const absl::StatusOr<int64_t> parsed =
          ParseInt("api key", text, 0, std::numeric_limits<int16_t>::max());
      parsed.ok()) {
    number = *parsed;
  }
  std::string names;
  for (const ApiKeyName& api : kApiKeys) {
    if (api.key == number || EqualsIgnoreCase(api.name, text)) return api.key;
    names +=
        fmt::format("{}{} ({})", names.empty() ? "" : ", ", api.name, api.key);
  }
  return absl::InvalidArgumentError(fmt::format(
      "unknown Kafka API '{}'; use a name or key from: {}", text, names));
}

absl::StatusOr<rd_kafka_resp_err_t> ParseErrorCode(std::string_view text) {
  const struct rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  std::string_view name = text;
  if (name.size() > kErrorPrefix.size() &&
      EqualsIgnoreCase(name.substr(0, kErrorPrefix.size()), kErrorPrefix)) {
    name.remove_prefix(kErrorPrefix.size());
  }
  int64_t number = std::numeric_limits<int64_t>::min();
  if (const absl::StatusOr<int64_t> parsed =
          ParseInt("error code", text, std::numeric_limits<int32_t>::min(),
                   std::numeric_limits<int32_t>::max());
      parsed.ok()) {
    number = *parsed;
  }
  // The table has gaps: entries without a name are unused codes.
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name == nullptr) continue;
    if (descs[i].code == number || EqualsIgnoreCase(descs[i].name, name)) {
      return descs[i].code;
    }
  }
  return absl::InvalidArgumentError(fmt::format(
      "unknown error '{}'; use a librdkafka error name (rd_kafka_err2name, "
      "e.g. NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT, _TRANSPORT, "
      "NO_ERROR) or its code (e.g. 6)",
      text));
}

}  // namespace crm::dev_broker
