#include "relay_bench.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bare_producer.h"
#include "crm/base/status_macros.h"
#include "crm/bus/outbox_relay.h"
#include "crm/eventstore/event_store.h"
#include "eventstore_bench.h"
#include "eventstore_workload.h"
#include "fmt/format.h"
#include "mock_kafka_cluster.h"
#include "payload_pool.h"
#include "rocksdb/write_batch.h"
#include "run_control.h"
#include "scratch_dir.h"
#include "zipf.h"

namespace crm::bench {
namespace {

using eventstore::EventStore;

// The relay publishes to crm.<kService>.events.v1; the ceiling to its own
// topic of the same shape on the same cluster.
constexpr char kService[] = "bench";
constexpr char kRelayTopic[] = "crm.bench.events.v1";
constexpr char kCeilingTopic[] = "crm.bench.ceiling.v1";
// Events per AppendMulti when filling the store, and per ReadAll page when
// reading the ceiling's messages.
constexpr size_t kFillEventsPerAppend = 1000;
constexpr size_t kReadPageEvents = 1000;
// Bounds on each run and on the wait for the filled store to settle.
constexpr absl::Duration kRunTimeout = absl::Minutes(10);
// How often the relay's status() is read while waiting for its first
// acknowledged delivery.
constexpr absl::Duration kStatusPollInterval = absl::Milliseconds(1);
constexpr absl::Duration kQuiescenceTimeout = absl::Minutes(5);

double PerSecond(uint64_t count, absl::Duration elapsed) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

// The sums over the runs of one side: their timed parts (SteadyPart).
struct Totals {
  uint64_t events = 0;
  absl::Duration elapsed;
  double PerSecond() const { return bench::PerSecond(events, elapsed); }
  void Add(const RunTiming& run) {
    const TimedPart part = SteadyPart(run);
    events += part.events;
    elapsed += part.elapsed;
  }
};

void LogRun(const char* who, const RunTiming& run) {
  const TimedPart part = SteadyPart(run);
  Log("%s %.0f events/s: first delivery after %.0f ms (%d events), all %d "
      "after %.2f s",
      who, PerSecond(part.events, part.elapsed),
      absl::ToDoubleMilliseconds(run.first_delivery), run.delivered_at_first,
      run.events, absl::ToDoubleSeconds(run.end));
}

// Deletes the relay's stored cursor of `topic` (docs/kafka-message.md), so
// that the next relay publishes the whole log again.
absl::Status ForgetRelayCursor(EventStore& store, const std::string& topic) {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> family =
      store.ColumnFamily(bus::kRelayColumnFamily);
  if (absl::IsNotFound(family.status())) return absl::OkStatus();
  RETURN_IF_ERROR(family.status());
  rocksdb::WriteBatch batch;
  const rocksdb::Status deleted = batch.Delete(*family, topic);
  if (!deleted.ok()) {
    return absl::InternalError(
        fmt::format("cannot build the deletion of the relay cursor of {}: {}",
                    topic, deleted.ToString()));
  }
  return store.Write(batch);
}

class RelayBench {
 public:
  RelayBench(const RelayBenchFlags& flags, EventStore& store,
             MockKafkaCluster& cluster)
      : flags_(flags), store_(store), cluster_(cluster) {}

  // All runs of one setting, then its result.
  absl::StatusOr<BenchResult> Measure(const ProducerSettings& settings);

 private:
  absl::Status RunRelay(const ProducerSettings& settings, Totals& totals,
                        std::optional<double>& peak_rss_mb);
  absl::Status RunCeiling(const ProducerSettings& settings, Totals& totals);

  // Checks that a run appended exactly flags_.events messages to `topic`,
  // given its count before the run: fewer is a lost event (an error); more
  // are duplicates, which at-least-once allows (logged).
  absl::Status CheckAppended(const std::string& who, const std::string& topic,
                             int64_t before);

  const RelayBenchFlags& flags_;
  EventStore& store_;
  MockKafkaCluster& cluster_;
};

absl::Status RelayBench::CheckAppended(const std::string& who,
                                       const std::string& topic,
                                       int64_t before) {
  ASSIGN_OR_RETURN(const int64_t after,
                   cluster_.MessagesAppended(topic, flags_.partitions));
  const auto expected = static_cast<int64_t>(flags_.events);
  if (after - before < expected) {
    return absl::InternalError(fmt::format(
        "{} reported every event delivered, but {} holds {} new messages "
        "for {} events: events were lost",
        who, topic, after - before, expected));
  }
  if (after - before > expected) {
    Log("%s: %s holds %d new messages for %d events (%d duplicates)", who,
        topic, after - before, expected, after - before - expected);
  }
  return absl::OkStatus();
}

absl::Status RelayBench::RunRelay(const ProducerSettings& settings,
                                  Totals& totals,
                                  std::optional<double>& peak_rss_mb) {
  RETURN_IF_ERROR(ForgetRelayCursor(store_, kRelayTopic));
  ASSIGN_OR_RETURN(const int64_t before,
                   cluster_.MessagesAppended(kRelayTopic, flags_.partitions));
  bus::RelayOptions options;
  options.service = kService;
  options.kafka_config = RelayKafkaConfig(settings);
  options.max_in_flight = settings.max_queued_messages;
  if (!ResetPeakRss()) Log("peak RSS could not be reset; it counts from start");

  RunTiming run;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + kRunTimeout;
  ASSIGN_OR_RETURN(std::unique_ptr<bus::OutboxRelay> relay,
                   bus::OutboxRelay::Start(store_, std::move(options)));
  if (relay->topic() != kRelayTopic) {
    return absl::InternalError(
        fmt::format("the relay publishes to {}, the benchmark created {}",
                    relay->topic(), kRelayTopic));
  }
  // The cursor is stored at the first acknowledged delivery, then at most
  // every 100 ms, and at once when everything produced is acknowledged.
  for (;;) {
    const uint64_t cursor = relay->status().cursor;
    if (cursor > 0) {
      run.first_delivery = absl::Now() - start;
      run.delivered_at_first = cursor;
      break;
    }
    if (StopRequested()) return absl::CancelledError("stopped by a signal");
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          fmt::format("the relay published nothing within {}; last error: {}",
                      absl::FormatDuration(kRunTimeout),
                      relay->status().last_error.ToString()));
    }
    absl::SleepFor(kStatusPollInterval);
  }
  RETURN_IF_ERROR(relay->Flush(deadline - absl::Now()));
  run.end = absl::Now() - start;
  run.events = flags_.events;

  const std::optional<double> peak = PeakRssMb();
  if (peak.has_value()) peak_rss_mb = std::max(peak_rss_mb.value_or(0), *peak);
  const bus::RelayStatus status = relay->status();
  relay.reset();
  if (status.cursor != flags_.events || status.producer_resets != 0) {
    return absl::InternalError(fmt::format(
        "the relay's Flush returned with its cursor at {} of {} after {} "
        "producer resets (last error: {}); a clean run should reach the end "
        "without a reset",
        status.cursor, flags_.events, status.producer_resets,
        status.last_error.ToString()));
  }
  RETURN_IF_ERROR(CheckAppended("the relay", kRelayTopic, before));
  LogRun("relay  ", run);
  totals.Add(run);
  return absl::OkStatus();
}

absl::Status RelayBench::RunCeiling(const ProducerSettings& settings,
                                    Totals& totals) {
  // Reading and serializing are outside the ceiling's time; their rate is
  // logged so that the share of the relay's time they take can be judged.
  const absl::Time read_start = absl::Now();
  ASSIGN_OR_RETURN(RelayMessages messages,
                   ReadRelayMessages(store_, kReadPageEvents));
  Log("ceiling: read and serialized the log at %.0f events/s (not timed)",
      PerSecond(flags_.events, absl::Now() - read_start));
  ASSIGN_OR_RETURN(const int64_t before,
                   cluster_.MessagesAppended(kCeilingTopic, flags_.partitions));
  ASSIGN_OR_RETURN(const RunTiming run,
                   ProduceAll(CeilingKafkaConfig(settings), kCeilingTopic,
                              messages, kRunTimeout));
  messages = {};  // Freed before the relay's next run measures its RSS.
  RETURN_IF_ERROR(CheckAppended("the ceiling", kCeilingTopic, before));
  LogRun("ceiling", run);
  totals.Add(run);
  return absl::OkStatus();
}

absl::StatusOr<BenchResult> RelayBench::Measure(
    const ProducerSettings& settings) {
  Log("relay: max.in.flight.requests.per.connection=%d linger.ms=%d; %d runs "
      "each of the relay and of a bare producer, alternating",
      settings.max_in_flight_requests, settings.linger_ms, flags_.repeat);
  Totals relay;
  Totals ceiling;
  std::optional<double> peak_rss_mb;
  for (const RelayTurn turn : InterleavedTurns(flags_.repeat)) {
    if (StopRequested()) return absl::CancelledError("stopped by a signal");
    if (turn == RelayTurn::kRelay) {
      RETURN_IF_ERROR(RunRelay(settings, relay, peak_rss_mb));
    } else {
      RETURN_IF_ERROR(RunCeiling(settings, ceiling));
    }
  }
  BenchResult result;
  result.bench = "relay.publish";
  result.config = {{"events", flags_.events},
                   {"streams", flags_.streams},
                   {"payload_bytes", flags_.payload_bytes},
                   {"brokers", flags_.brokers},
                   {"partitions", flags_.partitions},
                   {"broker_rtt_ms", flags_.broker_rtt_ms},
                   {"max_in_flight_requests", settings.max_in_flight_requests},
                   {"linger_ms", settings.linger_ms},
                   {"max_in_flight_events", settings.max_queued_messages},
                   {"repeat", flags_.repeat}};
  result.value = relay.PerSecond();
  result.unit = "events/s";
  result.ceiling = ceiling.PerSecond();
  result.peak_rss_mb = peak_rss_mb;
  return result;
}

}  // namespace

absl::Status RunRelayBench(const RelayBenchFlags& flags,
                           BenchReporter& reporter) {
  ASSIGN_OR_RETURN(std::unique_ptr<MockKafkaCluster> cluster,
                   MockKafkaCluster::Start(flags.brokers));
  RETURN_IF_ERROR(cluster->CreateTopic(kRelayTopic, flags.partitions));
  RETURN_IF_ERROR(cluster->CreateTopic(kCeilingTopic, flags.partitions));
  RETURN_IF_ERROR(
      cluster->SetBrokerRtt(absl::Milliseconds(flags.broker_rtt_ms)));
  Log("relay: mock cluster of %d brokers at %s (round trip +%d ms), topics "
      "%s and %s of %d partitions",
      flags.brokers, cluster->bootstrap(), flags.broker_rtt_ms, kRelayTopic,
      kCeilingTopic, flags.partitions);

  ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Create(flags.dir));
  const std::string path = scratch.Sub("store");
  {
    ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store,
                     OpenStore(path, /*sync=*/false));
    const ZipfSampler streams(flags.streams, kZipfExponent);
    const PayloadPool payloads(flags.payload_bytes);
    Log("relay: filling the store with %d events", flags.events);
    RETURN_IF_ERROR(FillStore(*store, flags.events, {&streams, &payloads},
                              {flags.payload_bytes, kFillEventsPerAppend}));
  }
  // Reopened synced, as in service: the relay's cursor stores are synced
  // writes. Reopening also replays and flushes the fill's WAL now.
  ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store,
                   OpenStore(path, /*sync=*/true));
  WaitForQuiescence(*store, kQuiescenceTimeout);

  RelayBench bench(flags, *store, *cluster);
  // The relay's default bound on events produced and not acknowledged,
  // given to both sides.
  const size_t max_queued = bus::RelayOptions().max_in_flight;
  for (const int max_in_flight : flags.max_in_flight_requests) {
    ASSIGN_OR_RETURN(const BenchResult result,
                     bench.Measure({.bootstrap = cluster->bootstrap(),
                                    .max_in_flight_requests = max_in_flight,
                                    .linger_ms = flags.linger_ms,
                                    .max_queued_messages = max_queued}));
    reporter.Print(result);
  }
  return absl::OkStatus();
}

}  // namespace crm::bench
