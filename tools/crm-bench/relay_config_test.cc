#include "relay_config.h"

#include <algorithm>
#include <string>
#include <vector>

#include "CLI/App.hpp"
#include "CLI/Config.hpp"
#include "CLI/Formatter.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::bench {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

class RelayConfigTest : public ::testing::Test {
 protected:
  RelayConfigTest() { AddRelayFlags(app_, flags_); }

  // Parses `command_line` (without the program name) into flags_.
  void Parse(const std::string& command_line) { app_.parse(command_line); }

  CLI::App app_{"relay flags under test"};
  RelayBenchFlags flags_;
};

TEST_F(RelayConfigTest, DefaultsMeasureBothInFlightSettings) {
  Parse("");
  EXPECT_EQ(flags_.events, 200'000u);
  EXPECT_EQ(flags_.payload_bytes, 256u);
  EXPECT_EQ(flags_.brokers, 3);
  EXPECT_EQ(flags_.partitions, 4);
  EXPECT_THAT(flags_.max_in_flight_requests, ElementsAre(1, 5));
  EXPECT_EQ(flags_.linger_ms, 5);
  EXPECT_EQ(flags_.broker_rtt_ms, 0);
  EXPECT_EQ(flags_.repeat, 3);
}

TEST_F(RelayConfigTest, InFlightValuesReplaceTheDefaults) {
  Parse("--max-in-flight-requests 5");
  EXPECT_THAT(flags_.max_in_flight_requests, ElementsAre(5));
}

TEST_F(RelayConfigTest, InFlightValuesSplitAtCommas) {
  Parse("--max-in-flight-requests 1,3,5");
  EXPECT_THAT(flags_.max_in_flight_requests, ElementsAre(1, 3, 5));
}

TEST_F(RelayConfigTest, InFlightAboveFiveIsRefused) {
  // The relay refuses more than 5 with idempotence.
  EXPECT_THROW(Parse("--max-in-flight-requests 1,6"), CLI::ValidationError);
}

TEST_F(RelayConfigTest, ClusterShapeAndRunsAreParsed) {
  Parse(
      "--events 1000 --brokers 1 --partitions 8 --linger-ms 0 "
      "--broker-rtt-ms 2 --repeat 2");
  EXPECT_EQ(flags_.events, 1000u);
  EXPECT_EQ(flags_.broker_rtt_ms, 2);
  EXPECT_EQ(flags_.brokers, 1);
  EXPECT_EQ(flags_.partitions, 8);
  EXPECT_EQ(flags_.linger_ms, 0);
  EXPECT_EQ(flags_.repeat, 2);
}

TEST_F(RelayConfigTest, OutOfRangeValuesAreRefused) {
  EXPECT_THROW(Parse("--repeat 0"), CLI::ValidationError);
  EXPECT_THROW(Parse("--brokers 0"), CLI::ValidationError);
  EXPECT_THROW(Parse("--partitions 0"), CLI::ValidationError);
  EXPECT_THROW(Parse("--events 0"), CLI::ValidationError);
  EXPECT_THROW(Parse("--broker-rtt-ms -1"), CLI::ValidationError);
}

TEST(RelayKafkaConfigTest, DefaultSettingsAreTheRelayDefaults) {
  // The relay's documented defaults (crm/bus/outbox_relay.h).
  EXPECT_THAT(RelayKafkaConfig({.bootstrap = "127.0.0.1:9092"}),
              ElementsAre(Pair("bootstrap.servers", "127.0.0.1:9092"),
                          Pair("linger.ms", "5"),
                          Pair("max.in.flight.requests.per.connection", "1"),
                          Pair("partitioner", "murmur2_random")));
}

TEST(RelayKafkaConfigTest, CeilingHasEveryRelaySettingWithItsValue) {
  const ProducerSettings settings{
      .bootstrap = "127.0.0.1:1", .max_in_flight_requests = 5, .linger_ms = 20};
  const auto ceiling = CeilingKafkaConfig(settings);
  for (const auto& [property, value] : RelayKafkaConfig(settings)) {
    ASSERT_TRUE(ceiling.count(property)) << property;
    EXPECT_EQ(ceiling.at(property), value) << property;
  }
  EXPECT_EQ(ceiling.at("max.in.flight.requests.per.connection"), "5");
  EXPECT_EQ(ceiling.at("linger.ms"), "20");
}

TEST(RelayKafkaConfigTest, CeilingIsIdempotentWithAcksAll) {
  const auto ceiling = CeilingKafkaConfig({.bootstrap = "127.0.0.1:1"});
  EXPECT_EQ(ceiling.at("enable.idempotence"), "true");
  EXPECT_EQ(ceiling.at("acks"), "all");
  EXPECT_EQ(ceiling.at("message.timeout.ms"), "0");
}

TEST(RelayKafkaConfigTest, CeilingQueuesAsManyMessagesAsTheRelay) {
  const auto ceiling = CeilingKafkaConfig(
      {.bootstrap = "127.0.0.1:1", .max_queued_messages = 2500});
  EXPECT_EQ(ceiling.at("queue.buffering.max.messages"), "2500");
}

TEST(SteadyPartTest, StartsAtTheFirstDelivery) {
  const TimedPart part = SteadyPart({.events = 1000,
                                     .first_delivery = absl::Seconds(1),
                                     .delivered_at_first = 100,
                                     .end = absl::Seconds(4)});
  EXPECT_EQ(part.events, 900u);
  EXPECT_EQ(part.elapsed, absl::Seconds(3));
}

TEST(SteadyPartTest, WholeRunWhenTheFirstSightingCoveredEverything) {
  const TimedPart part = SteadyPart({.events = 1000,
                                     .first_delivery = absl::Seconds(1),
                                     .delivered_at_first = 1000,
                                     .end = absl::Seconds(1)});
  EXPECT_EQ(part.events, 1000u);
  EXPECT_EQ(part.elapsed, absl::Seconds(1));
}

TEST(InterleavedTurnsTest, RunsAlternateInAbbaOrder) {
  constexpr RelayTurn kC = RelayTurn::kCeiling;
  constexpr RelayTurn kR = RelayTurn::kRelay;
  EXPECT_THAT(InterleavedTurns(1), ElementsAre(kC, kR));
  EXPECT_THAT(InterleavedTurns(3), ElementsAre(kC, kR, kR, kC, kC, kR));
}

TEST(InterleavedTurnsTest, EachSideRunsRepeatTimes) {
  for (int repeat = 0; repeat <= 7; ++repeat) {
    const std::vector<RelayTurn> turns = InterleavedTurns(repeat);
    EXPECT_EQ(std::count(turns.begin(), turns.end(), RelayTurn::kRelay),
              repeat);
    EXPECT_EQ(std::count(turns.begin(), turns.end(), RelayTurn::kCeiling),
              repeat);
  }
}

}  // namespace
}  // namespace crm::bench
