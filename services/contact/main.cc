// crm-contact: the contact service (README.md). Standard flags (libs/server);
// the store in <data-dir>/store, the projections, the publisher (embedded
// bus when --kafka-bootstrap is empty) and the gRPC host, SERVING once the
// projections are live. The assembly is ContactServer's
// (server/include/crm/contact/server/contact_server.h).
#include <memory>
#include <string>
#include <utility>

#include "crm/base/mutex_mode.h"
#include "crm/base/status_macros.h"
#include "crm/bus/bus.h"
#include "crm/contact/server/contact_server.h"
#include "crm/server/command_line.h"
#include "crm/server/logging.h"
#include "crm/server/metrics.h"
#include "crm/server/service_host.h"

namespace {

absl::Status Run(const crm::server::ServerConfig& config) {
  ASSIGN_OR_RETURN(auto metrics,
                   crm::server::MetricsEndpoint::Start(config.metrics_listen));
  std::unique_ptr<crm::bus::Bus> bus =
      config.kafka_bootstrap.empty()
          ? crm::bus::NewEmbeddedBus()
          : crm::bus::NewKafkaBus(
                {{"bootstrap.servers", config.kafka_bootstrap}});
  crm::contact::server::ContactServer::Options contact_options;
  contact_options.data_dir = config.data_dir;
  contact_options.service.handler_threads = config.handler_threads;
  ASSIGN_OR_RETURN(auto contact, crm::contact::server::ContactServer::Start(
                                     contact_options, *bus, *metrics));
  crm::server::ServiceHost::Options options;
  options.services = {contact->service()};
  options.readiness = [&] { return contact->Ready(); };
  options.shutdown_steps = contact->ShutdownSteps();
  options.on_shutdown = {[&] { contact->EndStreams(); }};
  ASSIGN_OR_RETURN(auto host, crm::server::ServiceHost::Start(
                                  config, *metrics, std::move(options)));
  return host->Wait();
}

}  // namespace

int main(int argc, char** argv) {
  crm::base::UseReleaseMutexMode();
  crm::server::CommandLine command_line("contact",
                                        "CRM contact service (contacts, "
                                        "accounts, activities, consent)");
  const crm::server::ServerConfig& config =
      command_line.ParseOrExit(argc, argv);
  const absl::Status status = Run(config);
  if (!status.ok()) {
    crm::server::LogError("exiting",
                          {{"error", std::string(status.message())}});
    return 1;
  }
  return 0;
}
