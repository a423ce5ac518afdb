#include "crm/server/service_host.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "crm/base/status_macros.h"
#include "crm/server/logging.h"
#include "crm/server/metrics.h"
#include "fmt/format.h"
#include "grpc/grpc.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "grpcpp/impl/server_initializer.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "health_service.h"
#include "pem_files.h"
#include "ready_file.h"
#include "rpc_interceptor.h"
#include "termination_signals.h"

namespace crm::server {
namespace {

// How long past the grace period the watchdog waits before it ends the
// process.
constexpr absl::Duration kWatchdogSlack = absl::Seconds(2);
// Most of the grace period kept for the shutdown steps.
constexpr absl::Duration kMaxStepReserve = absl::Seconds(5);
// How often an unchanged "not ready" reason is logged again.
constexpr absl::Duration kNotReadyLogInterval = absl::Seconds(10);

// Tells the health service the names of the services the server registered
// (gRPC knows them only once the server is built).
class ServiceNamesPlugin final : public grpc::ServerBuilderPlugin {
 public:
  explicit ServiceNamesPlugin(HealthService& health) : health_(health) {}
  std::string name() override { return "crm_service_names"; }
  void InitServer(grpc::ServerInitializer* /*si*/) override {}
  void Finish(grpc::ServerInitializer* si) override {
    health_.SetServiceNames(*si->GetServiceList());
  }
  void ChangeArguments(const std::string& /*name*/, void* /*value*/) override {}

 private:
  HealthService& health_;
};

class ServiceNamesOption final : public grpc::ServerBuilderOption {
 public:
  explicit ServiceNamesOption(HealthService& health) : health_(health) {}
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->push_back(std::make_unique<ServiceNamesPlugin>(health_));
  }

 private:
  HealthService& health_;
};

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const TlsFiles& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  ASSIGN_OR_RETURN(std::string cert, ReadWholeFile(tls.cert_file));
  ASSIGN_OR_RETURN(std::string key, ReadWholeFile(tls.key_file));
  grpc::SslServerCredentialsOptions options(
      tls.client_ca_file.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!tls.client_ca_file.empty()) {
    ASSIGN_OR_RETURN(options.pem_root_certs, ReadWholeFile(tls.client_ca_file));
  }
  options.pem_key_cert_pairs.push_back({std::move(key), std::move(cert)});
  return grpc::SslServerCredentials(options);
}

}  // namespace

class ServiceHostImpl {
 public:
  ServiceHostImpl(const ServerConfig& config, MetricsEndpoint& metrics,
                  ServiceHost::Options options)
      : config_(config),
        metrics_(metrics),
        options_(std::move(options)),
        rpc_metrics_(metrics.registry()) {}

  ~ServiceHostImpl() {
    if (started_ && !shut_down_) {
      RequestShutdown("the host was destroyed");
      ShutDown().IgnoreError();  // Logged; nobody to return it to.
    } else if (!started_ && server_ != nullptr) {
      // Start failed half-way: no call was served, no step is due.
      server_->Shutdown(std::chrono::system_clock::now());
    }
  }

  absl::Status Start() {
    std::set<grpc::Service*> distinct;
    for (grpc::Service* service : options_.services) {
      if (service == nullptr || !distinct.insert(service).second) {
        return absl::InvalidArgumentError(
            "ServiceHost::Options::services holds a null or the same service "
            "twice");
      }
    }
    ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                     Credentials(config_.tls));

    if (options_.handle_signals) {
      ASSIGN_OR_RETURN(signals_,
                       TerminationSignals::Install([this](int signal) {
                         RequestShutdown(SignalName(signal));
                       }));
    }

    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(config_.grpc_listen.ToString(), credentials,
                             &port);
    // Another process on the same port must be an error, not a silent
    // sharing of the traffic.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.SetMaxReceiveMessageSize(
        static_cast<int>(config_.max_message_bytes));
    builder.SetMaxSendMessageSize(static_cast<int>(config_.max_message_bytes));
    for (grpc::Service* service : options_.services) {
      builder.RegisterService(service);
    }
    builder.RegisterService(&health_);
    builder.SetOption(std::make_unique<ServiceNamesOption>(health_));
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(
        std::make_unique<RpcInterceptorFactory>(rpc_metrics_));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));

    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port == 0) {
      server_.reset();
      return absl::UnavailableError(fmt::format(
          "cannot serve gRPC on {}: the address is in use or not of this "
          "machine (see the log); give another --grpc-listen",
          config_.grpc_listen.ToString()));
    }
    grpc_address_ = HostPort{config_.grpc_listen.host, port};

    LogInfo("listening", {{"grpc_address", grpc_address_.ToString()},
                          {"metrics_address", metrics_.address().ToString()},
                          {"tls", config_.tls.enabled()},
                          {"mutual_tls", !config_.tls.client_ca_file.empty()}});
    readiness_thread_ = std::thread([this] { AwaitReadiness(); });
    started_ = true;
    return absl::OkStatus();
  }

  const HostPort& grpc_address() const { return grpc_address_; }
  bool serving() const { return health_.serving(); }

  void RequestShutdown(const std::string& reason) {
    absl::MutexLock lock(&mutex_);
    if (shutdown_requested_.HasBeenNotified()) {
      LogInfo("already shutting down", {{"reason", reason}});
      return;
    }
    shutdown_reason_ = reason;
    shutdown_requested_.Notify();
  }

  absl::Status Wait() {
    if (shut_down_) {
      return absl::FailedPreconditionError("ServiceHost::Wait called twice");
    }
    shutdown_requested_.WaitForNotification();
    return ShutDown();
  }

 private:
  // Polls readiness until OK, then serves. Runs on readiness_thread_.
  void AwaitReadiness() {
    std::string last_reason;
    absl::Time last_logged = absl::InfinitePast();
    while (!shutdown_requested_.HasBeenNotified()) {
      const absl::Status ready =
          options_.readiness ? options_.readiness() : absl::OkStatus();
      if (ready.ok()) {
        BecomeServing();
        return;
      }
      const std::string reason(ready.message());
      if (reason != last_reason ||
          absl::Now() - last_logged >= kNotReadyLogInterval) {
        LogInfo("not ready yet", {{"reason", reason}});
        last_reason = reason;
        last_logged = absl::Now();
      }
      shutdown_requested_.WaitForNotificationWithTimeout(
          options_.readiness_poll_interval);
    }
  }

  void BecomeServing() {
    health_.SetServing(true);
    if (!config_.ready_file.empty()) {
      const absl::Status written = WriteFileAtomically(
          config_.ready_file,
          ReadyFileContent(config_.service, getpid(), grpc_address_.ToString(),
                           metrics_.address().ToString()));
      if (!written.ok()) {
        LogError("cannot write the ready file; shutting down",
                 {{"error", std::string(written.message())}});
        {
          absl::MutexLock lock(&mutex_);
          failure_ = written;
        }
        RequestShutdown("the ready file could not be written");
        return;
      }
      ready_file_written_ = true;
    }
    LogInfo("serving", {{"grpc_address", grpc_address_.ToString()},
                        {"metrics_address", metrics_.address().ToString()}});
  }

  absl::Status ShutDown() {
    shut_down_ = true;
    const absl::Time start = absl::Now();
    const absl::Time deadline = start + config_.shutdown_grace;
    std::string reason;
    {
      absl::MutexLock lock(&mutex_);
      reason = shutdown_reason_;
    }
    LogInfo("shutting down",
            {{"reason", reason},
             {"grace_seconds", absl::ToDoubleSeconds(config_.shutdown_grace)}});
    absl::Notification done;
    std::thread watchdog([&done, deadline] {
      if (!done.WaitForNotificationWithDeadline(deadline + kWatchdogSlack)) {
        LogError("shutdown overran its grace period; exiting now");
        std::_Exit(1);
      }
    });

    // After this the readiness thread writes nothing more.
    if (readiness_thread_.joinable()) readiness_thread_.join();
    health_.Shutdown();
    if (ready_file_written_ && std::remove(config_.ready_file.c_str()) != 0 &&
        errno != ENOENT) {
      LogWarn("cannot remove the ready file",
              {{"path", config_.ready_file}, {"error", std::strerror(errno)}});
    }

    for (const std::function<void()>& end_streams : options_.on_shutdown) {
      if (end_streams) end_streams();
    }

    const absl::Duration reserve =
        options_.shutdown_steps.empty()
            ? absl::ZeroDuration()
            : std::min(config_.shutdown_grace / 4, kMaxStepReserve);
    if (server_ != nullptr) {
      server_->Shutdown(absl::ToChronoTime(deadline - reserve));
      LogInfo("calls drained",
              {{"seconds", absl::ToDoubleSeconds(absl::Now() - start)}});
    }

    absl::Status result;
    {
      absl::MutexLock lock(&mutex_);
      result = failure_;
    }
    for (const ShutdownStep& step : options_.shutdown_steps) {
      const absl::Time step_start = absl::Now();
      const absl::Status status =
          step.run ? step.run(deadline) : absl::OkStatus();
      const double seconds = absl::ToDoubleSeconds(absl::Now() - step_start);
      if (status.ok()) {
        LogInfo("shutdown step done",
                {{"step", step.name}, {"seconds", seconds}});
      } else {
        LogError("shutdown step failed",
                 {{"step", step.name},
                  {"seconds", seconds},
                  {"error", std::string(status.message())}});
        if (result.ok()) result = status;
      }
    }
    done.Notify();
    watchdog.join();
    LogInfo("shut down",
            {{"seconds", absl::ToDoubleSeconds(absl::Now() - start)},
             {"ok", result.ok()}});
    return result;
  }

  const ServerConfig config_;
  MetricsEndpoint& metrics_;
  ServiceHost::Options options_;
  HostPort grpc_address_;

  // Declared before server_: the server (and its calls) go first.
  RpcMetrics rpc_metrics_;
  HealthService health_;
  std::unique_ptr<grpc::Server> server_;
  std::thread readiness_thread_;
  bool ready_file_written_ = false;  // By readiness_thread_, before join.
  bool started_ = false;
  bool shut_down_ = false;  // By the thread that calls Wait.

  absl::Mutex mutex_;
  absl::Notification shutdown_requested_;
  std::string shutdown_reason_ ABSL_GUARDED_BY(mutex_);
  absl::Status failure_ ABSL_GUARDED_BY(mutex_);
  // Declared last: its watcher thread (which calls RequestShutdown) stops
  // before anything it uses is destroyed.
  std::unique_ptr<TerminationSignals> signals_;
};

absl::StatusOr<std::unique_ptr<ServiceHost>> ServiceHost::Start(
    const ServerConfig& config, MetricsEndpoint& metrics, Options options) {
  auto impl =
      std::make_unique<ServiceHostImpl>(config, metrics, std::move(options));
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<ServiceHost>(new ServiceHost(std::move(impl)));
}

ServiceHost::ServiceHost(std::unique_ptr<ServiceHostImpl> impl)
    : impl_(std::move(impl)) {}

ServiceHost::~ServiceHost() = default;

const HostPort& ServiceHost::grpc_address() const {
  return impl_->grpc_address();
}

bool ServiceHost::serving() const { return impl_->serving(); }

absl::Status ServiceHost::Wait() { return impl_->Wait(); }

void ServiceHost::RequestShutdown() {
  impl_->RequestShutdown("shutdown requested");
}

}  // namespace crm::server
