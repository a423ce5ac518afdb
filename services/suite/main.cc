// crm-suite: every CRM service in one process (README.md, docs/operations.md).
// Standard flags (libs/server) plus --sample-data; one data directory with
// a subdirectory per service (<data-dir>/contact/store, ...), one gRPC port
// serving every service, one metrics port, the embedded bus unless
// --kafka-bootstrap is set. SERVING once every service's projections are
// live and, on first start, the sample data is written.
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "crm/base/mutex_mode.h"
#include "crm/base/status_macros.h"
#include "crm/bus/bus.h"
#include "crm/contact/server/contact_server.h"
#include "crm/server/command_line.h"
#include "crm/server/logging.h"
#include "crm/server/metrics.h"
#include "crm/server/service_host.h"
#include "crm/suite/sample_data_task.h"
#include "fmt/format.h"

namespace {

using crm::server::ShutdownStep;

// A service the suite hosts, as the host sees it.
class Member {
 public:
  virtual ~Member() = default;
  virtual const std::string& name() const = 0;
  virtual grpc::Service* service() = 0;
  virtual void EndStreams() = 0;
  virtual absl::Status Ready() const = 0;
  virtual absl::Status FlushPublisher(absl::Time deadline) = 0;
  virtual absl::Status StopProcessing() = 0;
  virtual absl::Status CloseStore() = 0;
};

// A service's server (ContactServer, and the next services' alike) as a
// Member: its data in <data-dir>/<name>.
template <typename Server>
class MemberOf final : public Member {
 public:
  MemberOf(std::string name, std::unique_ptr<Server> server)
      : name_(std::move(name)), server_(std::move(server)) {}
  const std::string& name() const override { return name_; }
  grpc::Service* service() override { return server_->service(); }
  void EndStreams() override { server_->EndStreams(); }
  absl::Status Ready() const override { return server_->Ready(); }
  absl::Status FlushPublisher(absl::Time deadline) override {
    return server_->FlushPublisher(deadline);
  }
  absl::Status StopProcessing() override { return server_->StopProcessing(); }
  absl::Status CloseStore() override { return server_->CloseStore(); }
  Server& server() { return *server_; }

 private:
  std::string name_;
  std::unique_ptr<Server> server_;
};

template <typename Server>
absl::StatusOr<MemberOf<Server>*> Add(
    std::vector<std::unique_ptr<Member>>& members, const std::string& name,
    const crm::server::ServerConfig& config, crm::bus::Bus& bus,
    crm::server::MetricsEndpoint& metrics) {
  typename Server::Options options;
  options.data_dir = config.data_dir + "/" + name;
  options.service.handler_threads = config.handler_threads;
  ASSIGN_OR_RETURN(std::unique_ptr<Server> server,
                   Server::Start(options, bus, metrics));
  auto member = std::make_unique<MemberOf<Server>>(name, std::move(server));
  MemberOf<Server>* added = member.get();
  members.push_back(std::move(member));
  return added;
}

// Each shutdown phase for every member before the next phase: consumers of
// one service read the others' stores on the embedded bus.
std::vector<ShutdownStep> ShutdownSteps(
    std::vector<std::unique_ptr<Member>>& members,
    crm::suite::SampleDataTask& sample_data) {
  std::vector<ShutdownStep> steps;
  steps.push_back({"stop sample data", [&sample_data](absl::Time) {
                     sample_data.Stop();
                     return absl::OkStatus();
                   }});
  for (auto& member : members) {
    Member* m = member.get();
    steps.push_back(
        {fmt::format("flush {} publisher", m->name()),
         [m](absl::Time deadline) { return m->FlushPublisher(deadline); }});
  }
  for (auto& member : members) {
    Member* m = member.get();
    steps.push_back({fmt::format("stop {} processing", m->name()),
                     [m](absl::Time) { return m->StopProcessing(); }});
  }
  for (auto& member : members) {
    Member* m = member.get();
    steps.push_back({fmt::format("close {} store", m->name()),
                     [m](absl::Time) { return m->CloseStore(); }});
  }
  return steps;
}

// Logs, once, the line a person looks for: where the suite serves.
class ServingAnnouncement {
 public:
  explicit ServingAnnouncement(const crm::server::ServerConfig& config)
      : config_(config) {}

  void SetAddresses(std::string grpc, std::string metrics) {
    absl::MutexLock lock(&mutex_);
    grpc_ = std::move(grpc);
    metrics_ = std::move(metrics);
  }

  // Called with each readiness result; logs on the first OK. Returns
  // UNAVAILABLE until the addresses are known (the host started).
  absl::Status Observe(absl::Status ready) {
    absl::MutexLock lock(&mutex_);
    if (!ready.ok()) return ready;
    if (grpc_.empty()) return absl::UnavailableError("the gRPC host starts");
    if (!announced_) {
      announced_ = true;
      crm::server::LogInfo(
          fmt::format("crm-suite is serving: gRPC on {}, metrics on "
                      "http://{}/metrics, data in {}",
                      grpc_, metrics_, config_.data_dir),
          {{"grpc_address", grpc_},
           {"metrics_address", metrics_},
           {"data_dir", config_.data_dir},
           {"ready_file", config_.ready_file}});
    }
    return absl::OkStatus();
  }

 private:
  const crm::server::ServerConfig& config_;
  absl::Mutex mutex_;
  std::string grpc_ ABSL_GUARDED_BY(mutex_);
  std::string metrics_ ABSL_GUARDED_BY(mutex_);
  bool announced_ ABSL_GUARDED_BY(mutex_) = false;
};

absl::Status Run(const crm::server::ServerConfig& config, bool sample_data) {
  ASSIGN_OR_RETURN(auto metrics,
                   crm::server::MetricsEndpoint::Start(config.metrics_listen));
  std::unique_ptr<crm::bus::Bus> bus =
      config.kafka_bootstrap.empty()
          ? crm::bus::NewEmbeddedBus()
          : crm::bus::NewKafkaBus(
                {{"bootstrap.servers", config.kafka_bootstrap}});

  // The services, one line each (the next: sales, ticket, marketing).
  std::vector<std::unique_ptr<Member>> members;
  ASSIGN_OR_RETURN(auto* contact,
                   Add<crm::contact::server::ContactServer>(
                       members, "contact", config, *bus, *metrics));

  crm::suite::SampleDataTask sample_data_task(
      contact->server(), config.data_dir + "/sample-data-written");
  if (sample_data) sample_data_task.Start();
  // Stopped before the members close (first shutdown step), also when
  // the host fails to start.
  struct StopOnExit {
    crm::suite::SampleDataTask& task;
    ~StopOnExit() { task.Stop(); }
  } stop_sample_data{sample_data_task};

  ServingAnnouncement announcement(config);
  crm::server::ServiceHost::Options options;
  for (auto& member : members) options.services.push_back(member->service());
  options.readiness = [&]() -> absl::Status {
    absl::Status ready = absl::OkStatus();
    for (const auto& member : members) {
      ready = member->Ready();
      if (!ready.ok()) break;
    }
    if (ready.ok() && sample_data) ready = sample_data_task.Status();
    return announcement.Observe(std::move(ready));
  };
  options.shutdown_steps = ShutdownSteps(members, sample_data_task);
  options.on_shutdown = {[&] {
    for (auto& member : members) member->EndStreams();
  }};
  ASSIGN_OR_RETURN(auto host, crm::server::ServiceHost::Start(
                                  config, *metrics, std::move(options)));
  const std::string grpc_address = host->grpc_address().ToString();
  const std::string metrics_address = metrics->address().ToString();
  crm::server::LogInfo(
      fmt::format("crm-suite started: gRPC on {}, metrics on "
                  "http://{}/metrics, data in {}; SERVING once the "
                  "projections are live{}",
                  grpc_address, metrics_address, config.data_dir,
                  sample_data ? " and the sample data is written" : ""),
      {{"grpc_address", grpc_address},
       {"metrics_address", metrics_address},
       {"data_dir", config.data_dir}});
  announcement.SetAddresses(grpc_address, metrics_address);
  return host->Wait();
}

}  // namespace

int main(int argc, char** argv) {
  crm::base::UseReleaseMutexMode();
  crm::server::CommandLine command_line(
      "suite",
      "CRM suite: every CRM service in one process, over the embedded bus "
      "unless --kafka-bootstrap is set");
  bool sample_data = true;
  command_line.app()
      .add_option("--sample-data", sample_data,
                  "Write the sample data (tenant \"demo\") on first start")
      ->envname("CRM_SAMPLE_DATA")
      ->capture_default_str();
  const crm::server::ServerConfig& config =
      command_line.ParseOrExit(argc, argv);
  const absl::Status status = Run(config, sample_data);
  if (!status.ok()) {
    crm::server::LogError("exiting",
                          {{"error", std::string(status.message())}});
    return 1;
  }
  return 0;
}
