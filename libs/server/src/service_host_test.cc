// ServiceHost in process, over loopback: correlation ids, health, reflection,
// message size limits, deadlines, request metrics and the access log.
// (Lifecycle and TLS: service_host_lifecycle_test.cc.)
#include "crm/server/service_host.h"

#include <atomic>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/mutex.h"
#include "crm/server/logging.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "host_test_fixture.h"

namespace crm::server {
namespace {

using ::crm::server::test_util::CallResult;
using ::crm::server::test_util::DeadlineIn;
using ::crm::server::test_util::EchoRequest;
using ::crm::server::test_util::EchoResponse;
using ::crm::server::test_util::Health;
using ::crm::server::test_util::HealthCheckRequest;
using ::crm::server::test_util::HealthCheckResponse;
using ::crm::server::test_util::WaitFor;
using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr char kEcho[] = "crm.server.testing.EchoService/Echo";

bool LooksLikeUuid(const std::string& id) {
  static const std::regex uuid(
      "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  return std::regex_match(id, uuid);
}

std::string Series(const std::string& name, const std::string& method,
                   const std::string& code = "") {
  if (code.empty()) return fmt::format("{}{{method=\"{}\"}}", name, method);
  return fmt::format("{}{{code=\"{}\",method=\"{}\"}}", name, code, method);
}

class ServiceHostTest : public test_util::HostTest {};

TEST_F(ServiceHostTest, EchoGetsANewCorrelationIdSentBackToTheClient) {
  ASSERT_NO_FATAL_FAILURE(StartHost(Config()));
  const CallResult<EchoResponse> result = Echo("hello");
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.response.message(), "hello");
  EXPECT_TRUE(LooksLikeUuid(result.response.correlation_id()))
      << result.response.correlation_id();
  EXPECT_EQ(result.correlation_id, result.response.correlation_id());
  EXPECT_NE(Echo("again").response.correlation_id(),
            result.response.correlation_id());
}

TEST_F(ServiceHostTest, ClientCorrelationIdIsKeptAndAnInvalidOneReplaced) {
  ASSERT_NO_FATAL_FAILURE(StartHost(Config()));
  EchoRequest request;
  request.set_message("m");
  const CallResult<EchoResponse> kept =
      Echo(Channel(), request, absl::Seconds(10), "order-42:retry.1");
  EXPECT_EQ(kept.response.correlation_id(), "order-42:retry.1");
  EXPECT_EQ(kept.correlation_id, "order-42:retry.1");

  const CallResult<EchoResponse> replaced =
      Echo(Channel(), request, absl::Seconds(10), "has spaces; and more");
  EXPECT_TRUE(LooksLikeUuid(replaced.response.correlation_id()))
      << replaced.response.correlation_id();
  EXPECT_EQ(replaced.correlation_id, replaced.response.correlation_id());
}

TEST_F(ServiceHostTest, HealthIsNotServingUntilReadyThenServingUntilShutdown) {
  std::atomic<bool> ready{false};
  ServiceHost::Options options;
  options.readiness = [&ready] {
    return ready ? absl::OkStatus()
                 : absl::UnavailableError("projections catching up");
  };
  options.readiness_poll_interval = absl::Milliseconds(10);
  ASSERT_NO_FATAL_FAILURE(StartHost(Config(), std::move(options)));

  EXPECT_THAT(CheckHealth(), IsOkAndHolds(HealthCheckResponse::NOT_SERVING));
  EXPECT_FALSE(host_->serving());
  grpc::ClientContext watch_context;
  watch_context.set_deadline(DeadlineIn(absl::Seconds(20)));
  HealthCheckRequest request;
  auto watch = Health::NewStub(Channel())->Watch(&watch_context, request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);

  ready = true;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);
  EXPECT_TRUE(host_->serving());
  EXPECT_THAT(CheckHealth(), IsOkAndHolds(HealthCheckResponse::SERVING));
  EXPECT_THAT(CheckHealth("crm.server.testing.EchoService"),
              IsOkAndHolds(HealthCheckResponse::SERVING));
  EXPECT_THAT(CheckHealth("grpc.health.v1.Health"),
              IsOkAndHolds(HealthCheckResponse::SERVING));
  EXPECT_THAT(CheckHealth("crm.nope.v1.NoService"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("NoService")));
  ready = false;  // A latch: stays SERVING.
  EXPECT_THAT(CheckHealth(), IsOkAndHolds(HealthCheckResponse::SERVING));

  absl::Status waited;
  host_->RequestShutdown();
  std::thread waiter([this, &waited] { waited = host_->Wait(); });
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(watch->Read(&update));  // The stream ends, not the drain.
  const grpc::Status watch_status = watch->Finish();
  EXPECT_TRUE(watch_status.ok()) << watch_status.error_message();
  waiter.join();
  EXPECT_OK(waited);
}

TEST_F(ServiceHostTest, HealthWatchOfAnUnknownServiceSaysSo) {
  ASSERT_NO_FATAL_FAILURE(StartHost(Config()));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  HealthCheckRequest request;
  request.set_service("crm.nope.v1.NoService");
  auto watch = Health::NewStub(Channel())->Watch(&context, request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  context.TryCancel();
  while (watch->Read(&update)) {
  }
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(ServiceHostTest, ReflectionListsAndDescribesTheServices) {
  ASSERT_NO_FATAL_FAILURE(StartHost(Config()));
  const google::protobuf::DescriptorPool* pool =
      google::protobuf::DescriptorPool::generated_pool();
  const google::protobuf::Descriptor* request_type =
      pool->FindMessageTypeByName(
          "grpc.reflection.v1alpha.ServerReflectionRequest");
  const google::protobuf::Descriptor* response_type =
      pool->FindMessageTypeByName(
          "grpc.reflection.v1alpha.ServerReflectionResponse");
  ASSERT_NE(request_type, nullptr);
  ASSERT_NE(response_type, nullptr);
  google::protobuf::DynamicMessageFactory factory;
  const auto ask = [&](const std::string& field, const std::string& value) {
    std::unique_ptr<google::protobuf::Message> request(
        factory.GetPrototype(request_type)->New());
    request->GetReflection()->SetString(
        request.get(), request_type->FindFieldByName(field), value);
    absl::StatusOr<std::string> bytes = GenericStreamCall(
        Channel(),
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request->SerializeAsString());
    EXPECT_OK(bytes.status());
    std::unique_ptr<google::protobuf::Message> response(
        factory.GetPrototype(response_type)->New());
    EXPECT_TRUE(response->ParseFromString(bytes.value_or("")));
    return response->DebugString();
  };

  const std::string services = ask("list_services", "");
  EXPECT_THAT(services, HasSubstr("\"crm.server.testing.EchoService\""));
  EXPECT_THAT(services, HasSubstr("\"grpc.health.v1.Health\""));
  EXPECT_THAT(services,
              HasSubstr("\"grpc.reflection.v1alpha.ServerReflection\""));
  const std::string file =
      ask("file_containing_symbol", "crm.server.testing.EchoService");
  EXPECT_THAT(file, HasSubstr("file_descriptor_response"));
  EXPECT_THAT(file, HasSubstr("crm/server/testing/echo.proto"));
}

TEST_F(ServiceHostTest, OversizedRequestIsRefusedWithResourceExhausted) {
  ASSERT_NO_FATAL_FAILURE(StartHost(Config()));  // 64 KiB limit.
  const CallResult<EchoResponse> fits = Echo(std::string(32 << 10, 'x'));
  EXPECT_TRUE(fits.status.ok()) << fits.status.error_message();
  const CallResult<EchoResponse> too_big = Echo(std::string(100 << 10, 'x'));
  EXPECT_EQ(too_big.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << too_big.status.error_message();
}

// Every crm_grpc_server_requests_total series, for failure messages.
std::string RequestSeries(const std::string& text) {
  std::string series;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("crm_grpc_server_requests_total{", 0) == 0) {
      series += line + "\n";
    }
  }
  return series.empty() ? "(no crm_grpc_server_requests_total series)\n"
                        : series;
}

TEST_F(ServiceHostTest, DeadlinesEndCallsOnBothSidesAndAreCounted) {
  ASSERT_NO_FATAL_FAILURE(StartHost(Config()));
  EchoRequest slow;
  slow.set_delay_ms(60'000);
  const CallResult<EchoResponse> timed_out =
      Echo(Channel(), slow, absl::Milliseconds(300));
  EXPECT_EQ(timed_out.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The handler bounded its wait by the deadline: nothing is left waiting.
  EXPECT_TRUE(WaitFor([this] { return echo_.waiting_calls() == 0; }));
  // The client's timer usually cancels the call before the server's copy of
  // the deadline (later by the request's transit) passes; the server still
  // counts it as DEADLINE_EXCEEDED, never CANCELLED. It may count it after
  // the client saw its status, hence the wait.
  EXPECT_TRUE(WaitFor(
      [this] {
        return Sample(Series("crm_grpc_server_requests_total", kEcho,
                             "DEADLINE_EXCEEDED")) == 1.0;
      },
      absl::Seconds(30)))
      << RequestSeries(metrics_->Render());
  EXPECT_EQ(
      Sample(Series("crm_grpc_server_requests_total", kEcho, "CANCELLED")),
      std::nullopt)
      << RequestSeries(metrics_->Render());

  // A deadline already past fails at once.
  const CallResult<EchoResponse> expired =
      Echo(Channel(), slow, absl::Milliseconds(-1));
  EXPECT_EQ(expired.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(ServiceHostTest, ACallCancelledLongBeforeItsDeadlineCountsAsCancelled) {
  ASSERT_NO_FATAL_FAILURE(StartHost(Config()));
  EchoRequest slow;
  slow.set_delay_ms(60'000);
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(60)));
  EchoResponse response;
  grpc::Status status;
  absl::Mutex mutex;
  bool done = false;
  test_util::EchoService::NewStub(Channel())->async()->Echo(
      &context, &slow, &response, [&](grpc::Status s) {
        absl::MutexLock lock(&mutex);
        status = std::move(s);
        done = true;
      });
  ASSERT_TRUE(WaitFor([this] { return echo_.waiting_calls() == 1; }));
  context.TryCancel();
  {
    absl::MutexLock lock(&mutex);
    ASSERT_TRUE(
        mutex.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(30)));
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([this] { return echo_.waiting_calls() == 0; }));
  EXPECT_TRUE(WaitFor(
      [this] {
        return Sample(Series("crm_grpc_server_requests_total", kEcho,
                             "CANCELLED")) == 1.0;
      },
      absl::Seconds(30)))
      << RequestSeries(metrics_->Render());
  EXPECT_EQ(Sample(Series("crm_grpc_server_requests_total", kEcho,
                          "DEADLINE_EXCEEDED")),
            std::nullopt)
      << RequestSeries(metrics_->Render());
}

TEST_F(ServiceHostTest, RequestMetricsCountEachMethodByCode) {
  ASSERT_NO_FATAL_FAILURE(StartHost(Config()));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Echo("ok").status.ok());
  EchoRequest failing;
  failing.set_fail_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(Echo(Channel(), failing).status.error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GenericUnaryCall(Channel(), "/crm.server.testing.EchoService/Nope")
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  ASSERT_TRUE(CheckHealth().ok());

  // The server records a call as its status goes out; the client may see
  // the status first.
  ASSERT_TRUE(WaitFor([this] {
    return Sample(Series("crm_grpc_server_requests_total", kEcho, "OK")) ==
               3.0 &&
           Sample(Series("crm_grpc_server_requests_total", kEcho,
                         "NOT_FOUND")) == 1.0;
  }));
  const std::string text = metrics_->Render();
  using test_util::SampleValue;
  EXPECT_THAT(
      SampleValue(text, Series("crm_grpc_server_request_duration_seconds_count",
                               kEcho)),
      Optional(4.0));
  EXPECT_THAT(text, HasSubstr("crm_grpc_server_request_duration_seconds_bucket"
                              "{method=\"crm.server.testing.EchoService/Echo\","
                              "le=\"0.005\"}"));
  EXPECT_THAT(
      SampleValue(text, Series("crm_grpc_server_requests_in_flight", kEcho)),
      Optional(0.0));
  EXPECT_TRUE(WaitFor([this] {
    return Sample(Series("crm_grpc_server_requests_total",
                         "grpc.health.v1.Health/Check", "OK")) == 1.0;
  }));
  // No label is made from a path a client chose.
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Nope")));
  EXPECT_TRUE(WaitFor([this] {
    return Sample(Series("crm_grpc_server_requests_total", "unknown",
                         "UNIMPLEMENTED")) == 1.0;
  }));
}

TEST_F(ServiceHostTest, AccessLogCarriesTheCallsCorrelationId) {
  absl::Mutex mutex;
  std::vector<nlohmann::json> lines;
  StartLogging("echo", LogLevel::kDebug, [&](std::string_view line) {
    absl::MutexLock lock(&mutex);
    lines.push_back(nlohmann::json::parse(line));
  });
  // Back to stderr before the sink's state goes.
  absl::Cleanup restore_logging = [] { StartLogging("", LogLevel::kInfo); };
  ASSERT_NO_FATAL_FAILURE(StartHost(Config()));
  EchoRequest request;
  request.set_message("m");
  ASSERT_TRUE(
      Echo(Channel(), request, absl::Seconds(10), "trace-me-1").status.ok());
  const auto logged = [&](const std::string& message) {
    absl::MutexLock lock(&mutex);
    for (const nlohmann::json& line : lines) {
      if (line.value("message", "") == message &&
          line.value("correlation_id", "") == "trace-me-1") {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(WaitFor([&] { return logged("echo"); }));
  EXPECT_TRUE(WaitFor([&] { return logged("call finished"); }));
  {
    absl::MutexLock lock(&mutex);
    for (const nlohmann::json& line : lines) {
      if (line.value("message", "") == "call finished" &&
          line.value("correlation_id", "") == "trace-me-1") {
        EXPECT_EQ(line["method"], kEcho);
        EXPECT_EQ(line["code"], "OK");
        EXPECT_EQ(line["level"], "debug");
        EXPECT_EQ(line["service"], "echo");
      }
    }
  }
}

}  // namespace
}  // namespace crm::server
