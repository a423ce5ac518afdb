// MetricsEndpoint over HTTP, scrape callbacks, and the metrics of the event
// store, projections, relay, publisher and consumer read from real
// components.
#include "crm/server/metrics.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "crm/bus/bus.h"
#include "crm/bus/outbox_relay.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/projection.h"
#include "crm/server/component_metrics.h"
#include "crm/server/handler_pool.h"
#include "crm/server/readiness.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "server_test_util.h"
#include "store_test_util.h"

namespace crm::server {
namespace {

using ::crm::eventstore::EventStore;
using ::crm::eventstore::ExpectedVersion;
using ::crm::server::test_util::HttpGet;
using ::crm::server::test_util::SampleValue;
using ::crm::server::test_util::WaitFor;
using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

// Counts events; fails on events of type "bad" when told to.
class CountingProjection final : public projection::Projection {
 public:
  CountingProjection(std::string name, bool fail_on_bad)
      : name_(std::move(name)), fail_on_bad_(fail_on_bad) {}
  std::string name() const override { return name_; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(const common::v1::EventEnvelope& event,
                     projection::ProjectionWriter& writer) override {
    if (fail_on_bad_ && event.type() == "bad") {
      return absl::InternalError("cannot apply a bad event");
    }
    writer.Put(event.event_id(), event.type());
    return absl::OkStatus();
  }

 private:
  std::string name_;
  bool fail_on_bad_;
};

// Handles every event but those of type "bad".
class PickyHandler final : public bus::EventHandler {
 public:
  absl::Status Handle(const common::v1::EventEnvelope& event,
                      const bus::EventOrigin& /*origin*/,
                      bus::HandlerBatch& /*batch*/) override {
    if (event.type() == "bad") return absl::InternalError("refused");
    return absl::OkStatus();
  }
};

class MetricsTest : public ::testing::Test {
 protected:
  MetricsTest() : dir_("server_metrics") {}

  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(endpoint_,
                         MetricsEndpoint::Start(HostPort{"127.0.0.1", 0}));
  }

  std::unique_ptr<EventStore> OpenStore(const std::string& name) {
    EventStore::Options options;
    options.path = (dir_.path() / name).string();
    options.sync = false;
    absl::StatusOr<std::unique_ptr<EventStore>> store =
        EventStore::Open(std::move(options));
    EXPECT_OK(store.status());
    return store.ok() ? *std::move(store) : nullptr;
  }

  static void Append(EventStore& store, const std::string& stream,
                     std::vector<std::string> types) {
    std::vector<eventstore::Envelope> events;
    for (const std::string& type : types) {
      events.emplace_back().set_type(type);
    }
    ASSERT_OK(store.Append(stream, ExpectedVersion::Any(), std::move(events))
                  .status());
  }

  std::optional<double> Sample(const std::string& series) {
    return SampleValue(endpoint_->Render(), series);
  }

  eventstore::test_util::ScratchDir dir_;
  std::unique_ptr<MetricsEndpoint> endpoint_;
};

TEST_F(MetricsTest, ServesTheRegistryOverHttpOnTheBoundPort) {
  EXPECT_EQ(endpoint_->address().host, "127.0.0.1");
  ASSERT_NE(endpoint_->address().port, 0);
  prometheus::BuildCounter()
      .Name("crm_test_things_total")
      .Help("Things.")
      .Register(endpoint_->registry())
      .Add({{"kind", "a"}})
      .Increment(3);
  ASSERT_OK_AND_ASSIGN(std::string body, HttpGet(endpoint_->address().port));
  EXPECT_THAT(body, HasSubstr("# TYPE crm_test_things_total counter"));
  EXPECT_THAT(SampleValue(body, "crm_test_things_total{kind=\"a\"}"),
              Optional(3.0));
}

TEST_F(MetricsTest, ScrapeCallbacksRunAtEachScrapeUntilUnregistered) {
  std::atomic<int> queue_length{4};
  MetricsRegistration registration =
      endpoint_->AddScrapeCallback([&queue_length](ScrapeWriter& out) {
        out.Gauge("crm_test_queue_length", "Queue length.", queue_length,
                  {{"queue", "in"}});
        out.Gauge("crm_test_queue_length", "Queue length.", 1,
                  {{"queue", "out"}});
        out.Counter("crm_test_polls_total", "Polls.", 9);
      });
  ASSERT_TRUE(registration.active());
  ASSERT_OK_AND_ASSIGN(std::string body, HttpGet(endpoint_->address().port));
  EXPECT_THAT(SampleValue(body, "crm_test_queue_length{queue=\"in\"}"),
              Optional(4.0));
  EXPECT_THAT(SampleValue(body, "crm_test_queue_length{queue=\"out\"}"),
              Optional(1.0));
  EXPECT_THAT(SampleValue(body, "crm_test_polls_total"), Optional(9.0));
  EXPECT_THAT(body, HasSubstr("# TYPE crm_test_queue_length gauge"));
  EXPECT_THAT(body, HasSubstr("# TYPE crm_test_polls_total counter"));

  queue_length = 7;
  EXPECT_THAT(Sample("crm_test_queue_length{queue=\"in\"}"), Optional(7.0));

  MetricsRegistration moved = std::move(registration);
  EXPECT_FALSE(registration.active());  // NOLINT(bugprone-use-after-move)
  EXPECT_THAT(Sample("crm_test_polls_total"), Optional(9.0));
  moved.Reset();
  EXPECT_THAT(endpoint_->Render(), Not(HasSubstr("crm_test_")));
}

TEST_F(MetricsTest, AddressInUseIsRefused) {
  EXPECT_THAT(MetricsEndpoint::Start(endpoint_->address()),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(endpoint_->address().ToString())));
}

TEST_F(MetricsTest, EventStoreMetricsReadItsCountersPerService) {
  std::unique_ptr<EventStore> store = OpenStore("store");
  ASSERT_NE(store, nullptr);
  std::unique_ptr<EventStore> other = OpenStore("other");
  ASSERT_NE(other, nullptr);
  // Two services' stores in one process (crm-suite): one series each.
  MetricsRegistration registration =
      RegisterEventStoreMetrics(*endpoint_, *store, "contact");
  MetricsRegistration other_registration =
      RegisterEventStoreMetrics(*endpoint_, *other, "sales");
  Append(*store, "contact-1", {"a", "b"});
  Append(*store, "contact-2", {"c"});
  EXPECT_FALSE(store
                   ->Append("contact-2", ExpectedVersion::NoStream(),
                            {eventstore::Envelope()})
                   .ok());
  Append(*other, "deal-1", {"d"});
  const std::string text = endpoint_->Render();
  const auto contact = [&](const std::string& name) {
    return SampleValue(text, name + "{service=\"contact\"}");
  };
  EXPECT_THAT(contact("crm_eventstore_appends_total"), Optional(2.0));
  EXPECT_THAT(contact("crm_eventstore_appended_events_total"), Optional(3.0));
  EXPECT_THAT(contact("crm_eventstore_last_position"), Optional(3.0));
  EXPECT_GT(contact("crm_eventstore_appended_bytes_total").value_or(0), 0);
  EXPECT_GE(contact("crm_eventstore_syncs_total").value_or(0), 2);
  EXPECT_TRUE(contact("crm_eventstore_sync_seconds_total"));
  EXPECT_TRUE(contact("crm_eventstore_deduplicated_appends_total"));
  EXPECT_THAT(
      SampleValue(text, "crm_eventstore_appends_total{service=\"sales\"}"),
      Optional(1.0));
  EXPECT_THAT(
      SampleValue(text, "crm_eventstore_last_position{service=\"sales\"}"),
      Optional(1.0));
  // One HELP/TYPE per family, whatever the number of stores.
  size_t types = 0;
  for (size_t at = text.find("# TYPE crm_eventstore_appends_total ");
       at != std::string::npos;
       at = text.find("# TYPE crm_eventstore_appends_total ", at + 1)) {
    ++types;
  }
  EXPECT_EQ(types, 1u);
  registration.Reset();
  other_registration.Reset();
  store.reset();
  other.reset();
}

TEST_F(MetricsTest, ProjectionMetricsAndReadinessFollowTheEngine) {
  std::unique_ptr<EventStore> store = OpenStore("store");
  ASSERT_NE(store, nullptr);
  Append(*store, "contact-1", {"a", "bad", "c"});
  std::vector<std::unique_ptr<projection::Projection>> projections;
  projections.push_back(
      std::make_unique<CountingProjection>("by_type", /*fail_on_bad=*/false));
  ASSERT_OK_AND_ASSIGN(auto engine, projection::ProjectionEngine::Start(
                                        *store, std::move(projections)));
  MetricsRegistration registration =
      RegisterProjectionMetrics(*endpoint_, *engine, "contact");

  ASSERT_TRUE(WaitFor([&] { return ProjectionsReady(*engine).ok(); }));
  const std::string text = endpoint_->Render();
  EXPECT_THAT(
      SampleValue(
          text,
          "crm_projection_state{service=\"contact\",projection=\"by_type\","
          "state=\"live\"}"),
      Optional(1.0));
  EXPECT_THAT(
      SampleValue(
          text,
          "crm_projection_state{service=\"contact\",projection=\"by_type\","
          "state=\"building\"}"),
      Optional(0.0));
  EXPECT_THAT(SampleValue(text,
                          "crm_projection_lag_events{service=\"contact\","
                          "projection=\"by_type\"}"),
              Optional(0.0));
  EXPECT_THAT(SampleValue(text,
                          "crm_projection_position{service=\"contact\","
                          "projection=\"by_type\"}"),
              Optional(3.0));
  EXPECT_THAT(SampleValue(text,
                          "crm_projection_serving_version{service=\"contact\","
                          "projection=\"by_type\"}"),
              Optional(1.0));
  registration.Reset();
  engine.reset();
  store.reset();
}

TEST_F(MetricsTest, FailedProjectionIsNotReadyAndShowsFailed) {
  std::unique_ptr<EventStore> store = OpenStore("store");
  ASSERT_NE(store, nullptr);
  Append(*store, "contact-1", {"a", "bad", "c"});
  std::vector<std::unique_ptr<projection::Projection>> projections;
  projections.push_back(
      std::make_unique<CountingProjection>("picky", /*fail_on_bad=*/true));
  ASSERT_OK_AND_ASSIGN(auto engine, projection::ProjectionEngine::Start(
                                        *store, std::move(projections)));
  MetricsRegistration registration =
      RegisterProjectionMetrics(*endpoint_, *engine, "contact");

  ASSERT_TRUE(WaitFor([&] {
    return Sample(
               "crm_projection_state{service=\"contact\",projection=\"picky\","
               "state=\"failed\"}") == 1.0;
  }));
  EXPECT_THAT(ProjectionsReady(*engine),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("picky"),
                             HasSubstr("cannot apply a bad event"))));
  registration.Reset();
  engine.reset();
  store.reset();
}

TEST_F(MetricsTest, HandlerPoolMetricsCountItsCalls) {
  HandlerPool pool(/*threads=*/2);
  MetricsRegistration registration =
      RegisterHandlerPoolMetrics(*endpoint_, pool, "contact");
  absl::Notification ran;
  ASSERT_TRUE(pool.Post([&ran] { ran.Notify(); }));
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(WaitFor([&] {
    return Sample("crm_handler_calls_total{service=\"contact\"}") == 1.0;
  }));
  EXPECT_THAT(Sample("crm_handler_threads{service=\"contact\"}"),
              Optional(2.0));
  EXPECT_THAT(Sample("crm_handler_busy_threads{service=\"contact\"}"),
              Optional(0.0));
  EXPECT_THAT(Sample("crm_handler_queued_calls{service=\"contact\"}"),
              Optional(0.0));
  EXPECT_THAT(Sample("crm_handler_refused_calls_total{service=\"contact\"}"),
              Optional(0.0));
  registration.Reset();
}

TEST_F(MetricsTest, RelayMetricsShowLagWhileKafkaIsUnreachable) {
  std::unique_ptr<EventStore> store = OpenStore("store");
  ASSERT_NE(store, nullptr);
  Append(*store, "contact-1", {"a", "b", "c"});
  bus::RelayOptions options;
  options.service = "test";
  options.kafka_config["bootstrap.servers"] = "127.0.0.1:1";  // Nobody there.
  options.shutdown_timeout = absl::Milliseconds(100);
  ASSERT_OK_AND_ASSIGN(auto relay, bus::OutboxRelay::Start(*store, options));
  MetricsRegistration registration = RegisterRelayMetrics(*endpoint_, *relay);

  const std::string labels = "{topic=\"crm.test.events.v1\"}";
  ASSERT_TRUE(
      WaitFor([&] { return Sample("crm_relay_lag_events" + labels) == 3.0; }));
  const std::string text = endpoint_->Render();
  EXPECT_THAT(SampleValue(text, "crm_relay_cursor_position" + labels),
              Optional(0.0));
  EXPECT_THAT(SampleValue(text, "crm_relay_connected" + labels), Optional(0.0));
  EXPECT_THAT(SampleValue(text, "crm_relay_producer_resets_total" + labels),
              Optional(0.0));
  double states = 0;
  for (const char* state : {"producing", "disconnected", "failed"}) {
    states += SampleValue(text,
                          "crm_relay_state{topic=\"crm.test.events.v1\","
                          "state=\"" +
                              std::string(state) + "\"}")
                  .value_or(-10);
  }
  EXPECT_EQ(states, 1.0);  // Exactly one current state.
  registration.Reset();
  relay.reset();
  store.reset();
}

TEST_F(MetricsTest, PublisherAndConsumerMetricsCountDeadLetters) {
  std::unique_ptr<EventStore> sales = OpenStore("sales");
  std::unique_ptr<EventStore> contact = OpenStore("contact");
  ASSERT_NE(sales, nullptr);
  ASSERT_NE(contact, nullptr);
  Append(*sales, "lead-1", {"a", "b"});
  Append(*sales, "lead-2", {"bad"});
  std::unique_ptr<bus::Bus> bus = bus::NewEmbeddedBus();
  ASSERT_OK_AND_ASSIGN(auto publisher, bus->StartPublisher(*sales, "sales"));
  PickyHandler handler;
  bus::ConsumerOptions options;
  options.service = "contact";
  options.purpose = "timeline";
  options.sources = {"sales"};
  options.max_attempts = 1;
  options.retry_backoff = absl::Milliseconds(1);
  ASSERT_OK_AND_ASSIGN(auto consumer,
                       bus->StartConsumer(*contact, handler, options));
  MetricsRegistration publisher_metrics =
      RegisterPublisherMetrics(*endpoint_, *publisher, "sales");
  MetricsRegistration consumer_metrics =
      RegisterConsumerMetrics(*endpoint_, *consumer, "crm.contact.timeline");

  const std::string group = "{group=\"crm.contact.timeline\"}";
  ASSERT_TRUE(WaitFor([&] {
    return Sample("crm_consumer_dead_lettered_events_total" + group) == 1.0 &&
           Sample("crm_consumer_handled_events_total" + group) == 2.0;
  }));
  const std::string text = endpoint_->Render();
  EXPECT_THAT(SampleValue(text, "crm_consumer_parked_streams" + group),
              Optional(1.0));
  EXPECT_THAT(SampleValue(text,
                          "crm_consumer_state{group=\"crm.contact.timeline\","
                          "state=\"consuming\"}"),
              Optional(1.0));
  EXPECT_THAT(text, HasSubstr("crm_consumer_lag_messages{group="
                              "\"crm.contact.timeline\",topic="
                              "\"crm.sales.events.v1\",partition=\"0\"}"));
  EXPECT_THAT(SampleValue(text,
                          "crm_relay_lag_events{topic="
                          "\"crm.sales.events.v1\"}"),
              Optional(0.0));
  consumer_metrics.Reset();
  publisher_metrics.Reset();
  consumer.reset();
  publisher.reset();
  bus.reset();
  contact.reset();
  sales.reset();
}

}  // namespace
}  // namespace crm::server
