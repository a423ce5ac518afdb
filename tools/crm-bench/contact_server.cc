#include "contact_server.h"

#include <utility>

#include "absl/time/clock.h"
#include "crm/base/status_macros.h"
#include "crm/bus/bus.h"
#include "crm/contact/api/store_key_provider.h"
#include "crm/contact/server/contact_server.h"
#include "crm/eventstore/event_store.h"
#include "crm/server/metrics.h"
#include "crm/server/service_host.h"
#include "fmt/format.h"
#include "run_control.h"

namespace crm::bench {

absl::Status FillContactStore(
    const std::string& data_dir,
    const std::function<absl::Status(eventstore::EventStore&)>& fill) {
  eventstore::EventStore::Options options;
  // Where and with what ContactServer opens it (contact_server.h).
  options.path = data_dir + "/store";
  options.extra_column_families = {contact::api::kKeyColumnFamily};
  ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventStore> store,
                   eventstore::EventStore::Open(options));
  return fill(*store);
}

// Declared in construction order; destroyed host first.
struct BenchContactServer::Parts {
  std::unique_ptr<server::MetricsEndpoint> metrics;
  std::unique_ptr<bus::Bus> bus;
  std::unique_ptr<contact::server::ContactServer> contact;
  std::unique_ptr<server::ServiceHost> host;
};

absl::StatusOr<std::unique_ptr<BenchContactServer>> BenchContactServer::Start(
    const std::string& data_dir, absl::Duration catch_up_timeout) {
  auto parts = std::make_unique<Parts>();
  ASSIGN_OR_RETURN(parts->metrics, server::MetricsEndpoint::Start(
                                       server::HostPort{"127.0.0.1", 0}));
  parts->bus = bus::NewEmbeddedBus();
  contact::server::ContactServer::Options contact_options;
  contact_options.data_dir = data_dir;
  ASSIGN_OR_RETURN(parts->contact,
                   contact::server::ContactServer::Start(
                       contact_options, *parts->bus, *parts->metrics));
  // Ready: every projection live. Polled (the engine has no "all live"
  // wait); 10 ms is noise next to a catch-up worth measuring.
  const absl::Time deadline = absl::Now() + catch_up_timeout;
  absl::Status ready = parts->contact->Ready();
  while (!ready.ok()) {
    if (StopRequested()) return absl::CancelledError("stopped by a signal");
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          fmt::format("the projections did not catch up in {}: {}",
                      absl::FormatDuration(catch_up_timeout),
                      std::string(ready.message())));
    }
    absl::SleepFor(absl::Milliseconds(10));
    ready = parts->contact->Ready();
  }

  server::ServerConfig config;
  config.service = "contact";
  config.grpc_listen = server::HostPort{"127.0.0.1", 0};
  config.metrics_listen = parts->metrics->address();
  config.shutdown_grace = absl::Seconds(10);
  server::ServiceHost::Options options;
  options.services = {parts->contact->service()};
  contact::server::ContactServer* served = parts->contact.get();
  options.readiness = [served] { return served->Ready(); };
  options.shutdown_steps = parts->contact->ShutdownSteps();
  options.handle_signals = false;  // crm-bench has its own handlers.
  ASSIGN_OR_RETURN(
      parts->host,
      server::ServiceHost::Start(config, *parts->metrics, std::move(options)));
  return std::unique_ptr<BenchContactServer>(
      new BenchContactServer(std::move(parts)));
}

BenchContactServer::BenchContactServer(std::unique_ptr<Parts> parts)
    : parts_(std::move(parts)) {}

BenchContactServer::~BenchContactServer() {
  parts_->host.reset();  // Drains, then runs ContactServer's steps.
  parts_->contact.reset();
  parts_->bus.reset();
  parts_->metrics.reset();
}

std::shared_ptr<grpc::Channel> BenchContactServer::NewChannel(int index) const {
  grpc::ChannelArguments arguments;
  // Distinct arguments keep gRPC from sharing one subchannel (and one TCP
  // connection) between the channels.
  arguments.SetInt("crm.bench.channel", index);
  return grpc::CreateCustomChannel(parts_->host->grpc_address().ToString(),
                                   grpc::InsecureChannelCredentials(),
                                   arguments);
}

}  // namespace crm::bench
