// The fixture of the in-process ServiceHost tests: a metrics endpoint, the
// echo service and a host on 127.0.0.1:0, plus gRPC client helpers (echo,
// health, generic calls for reflection and unknown methods). Test-only.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/server/config.h"
#include "crm/server/metrics.h"
#include "crm/server/service_host.h"
#include "crm/server/testing/echo.grpc.pb.h"
#include "crm/testing/status_matchers.h"
#include "echo_service.h"
#include "fmt/format.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server_test_util.h"
#include "store_test_util.h"

namespace crm::server::test_util {

using ::crm::server::testing::EchoRequest;
using ::crm::server::testing::EchoResponse;
using ::crm::server::testing::EchoService;
using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

inline std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return absl::ToChronoTime(absl::Now() + d);
}

// The outcome of a unary call.
template <typename Response>
struct CallResult {
  grpc::Status status;
  Response response;
  // The server's initial metadata "x-correlation-id", if sent.
  std::string correlation_id;
};

class HostTest : public ::testing::Test {
 protected:
  HostTest() : dir_("server_host") {}

  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(metrics_,
                         MetricsEndpoint::Start(HostPort{"127.0.0.1", 0}));
  }

  void TearDown() override {
    host_.reset();
    metrics_.reset();
  }

  ServerConfig Config() const {
    ServerConfig config;
    config.service = "echo";
    config.grpc_listen = HostPort{"127.0.0.1", 0};
    config.metrics_listen = metrics_->address();
    config.max_message_bytes = 64 << 10;
    config.shutdown_grace = absl::Seconds(10);
    return config;
  }

  // Starts host_ with the echo service (signals not handled).
  void StartHost(const ServerConfig& config,
                 ServiceHost::Options options = {}) {
    options.services.insert(options.services.begin(), &echo_);
    options.handle_signals = false;
    ASSERT_OK_AND_ASSIGN(
        host_, ServiceHost::Start(config, *metrics_, std::move(options)));
    address_ = host_->grpc_address().ToString();
  }

  std::shared_ptr<grpc::Channel> Channel(
      std::shared_ptr<grpc::ChannelCredentials> credentials =
          grpc::InsecureChannelCredentials()) const {
    return grpc::CreateChannel(address_, std::move(credentials));
  }

  static CallResult<EchoResponse> Echo(
      const std::shared_ptr<grpc::Channel>& channel, const EchoRequest& request,
      absl::Duration timeout = absl::Seconds(10),
      const std::string& correlation_id = "") {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(timeout));
    if (!correlation_id.empty()) {
      context.AddMetadata("x-correlation-id", correlation_id);
    }
    CallResult<EchoResponse> result;
    result.status = EchoService::NewStub(channel)->Echo(&context, request,
                                                        &result.response);
    const auto& metadata = context.GetServerInitialMetadata();
    auto found = metadata.find("x-correlation-id");
    if (found != metadata.end()) {
      result.correlation_id.assign(found->second.data(), found->second.size());
    }
    return result;
  }

  CallResult<EchoResponse> Echo(const std::string& message,
                                uint32_t delay_ms = 0) const {
    EchoRequest request;
    request.set_message(message);
    request.set_delay_ms(delay_ms);
    return Echo(Channel(), request);
  }

  // The health of `service` ("" = the server), or the call's error.
  absl::StatusOr<HealthCheckResponse::ServingStatus> CheckHealth(
      const std::string& service = "") const {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(10)));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    const grpc::Status status =
        Health::NewStub(Channel())->Check(&context, request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    return response.status();
  }

  // One request and its first response on a generic streaming call.
  static absl::StatusOr<std::string> GenericStreamCall(
      const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
      const std::string& request) {
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(10)));
    grpc::CompletionQueue queue;
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
        stub.PrepareCall(&context, method, &queue);
    const auto step = [&queue](int tag) {
      void* got = nullptr;
      bool ok = false;
      return queue.Next(&got, &ok) && got == reinterpret_cast<void*>(tag) && ok;
    };
    call->StartCall(reinterpret_cast<void*>(1));
    bool ok = step(1);
    grpc::Slice slice(request);
    const grpc::ByteBuffer request_buffer(&slice, 1);
    if (ok) call->Write(request_buffer, reinterpret_cast<void*>(2));
    ok = ok && step(2);
    if (ok) call->WritesDone(reinterpret_cast<void*>(3));
    ok = ok && step(3);
    grpc::ByteBuffer response_buffer;
    if (ok) call->Read(&response_buffer, reinterpret_cast<void*>(4));
    const bool read = ok && step(4);
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(5));
    step(5);
    queue.Shutdown();
    void* ignored_tag = nullptr;
    bool ignored_ok = false;
    while (queue.Next(&ignored_tag, &ignored_ok)) {
    }
    if (!status.ok() || !read) {
      return absl::UnavailableError(fmt::format(
          "{} failed: {} {}", method, static_cast<int>(status.error_code()),
          status.error_message()));
    }
    std::vector<grpc::Slice> slices;
    if (!response_buffer.Dump(&slices).ok()) {
      return absl::InternalError("cannot read the response");
    }
    std::string response;
    for (const grpc::Slice& part : slices) {
      response.append(reinterpret_cast<const char*>(part.begin()), part.size());
    }
    return response;
  }

  // A unary call to any method path, with an empty request.
  static grpc::Status GenericUnaryCall(
      const std::shared_ptr<grpc::Channel>& channel,
      const std::string& method) {
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(10)));
    grpc::CompletionQueue queue;
    const grpc::ByteBuffer request;
    auto call = stub.PrepareUnaryCall(&context, method, request, &queue);
    call->StartCall();
    grpc::ByteBuffer response;
    grpc::Status status;
    call->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    queue.Next(&tag, &ok);
    queue.Shutdown();
    while (queue.Next(&tag, &ok)) {
    }
    return status;
  }

  std::optional<double> Sample(const std::string& series) const {
    return SampleValue(metrics_->Render(), series);
  }

  eventstore::test_util::ScratchDir dir_;
  std::unique_ptr<MetricsEndpoint> metrics_;
  // Declared before host_: the service outlives the server.
  testing::EchoServiceImpl echo_;
  std::unique_ptr<ServiceHost> host_;
  std::string address_;
};

}  // namespace crm::server::test_util
