// crm-contact: the contact service (README.md). Standard flags (libs/server);
// the store in <data-dir>/store, the projections, the publisher (embedded
// bus when --kafka-bootstrap is empty) and the gRPC host, SERVING once the
// projections are live.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "crm/base/status_macros.h"
#include "crm/bus/bus.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/api/store_key_provider.h"
#include "crm/contact/crypto/aes_gcm_sealer.h"
#include "crm/contact/projections/service_projections.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/projection.h"
#include "crm/server/command_line.h"
#include "crm/server/component_metrics.h"
#include "crm/server/logging.h"
#include "crm/server/metrics.h"
#include "crm/server/readiness.h"
#include "crm/server/service_host.h"

namespace {

using crm::contact::AesGcmSealer;
namespace api = crm::contact::api;
namespace projections = crm::contact::projections;

absl::Status Run(const crm::server::ServerConfig& config) {
  ASSIGN_OR_RETURN(auto metrics,
                   crm::server::MetricsEndpoint::Start(config.metrics_listen));
  crm::eventstore::EventStore::Options store_options;
  store_options.path = config.data_dir + "/store";
  store_options.extra_column_families = {api::kKeyColumnFamily};
  ASSIGN_OR_RETURN(auto store,
                   crm::eventstore::EventStore::Open(store_options));
  auto store_metrics = crm::server::RegisterEventStoreMetrics(*metrics, *store);

  auto keys = std::make_unique<api::StoreKeyProvider>(store.get());
  auto sealer = std::make_unique<AesGcmSealer>(keys.get());

  ASSIGN_OR_RETURN(
      auto engine,
      crm::projection::ProjectionEngine::Start(
          *store, projections::ContactServiceProjections(sealer.get())));
  auto projection_metrics =
      crm::server::RegisterProjectionMetrics(*metrics, *engine);

  std::unique_ptr<crm::bus::Bus> bus =
      config.kafka_bootstrap.empty()
          ? crm::bus::NewEmbeddedBus()
          : crm::bus::NewKafkaBus(
                {{"bootstrap.servers", config.kafka_bootstrap}});
  ASSIGN_OR_RETURN(auto publisher, bus->StartPublisher(*store, "contact"));
  auto publisher_metrics =
      crm::server::RegisterPublisherMetrics(*metrics, *publisher, "contact");

  api::ContactServiceImpl service(*store, *engine, *sealer, {});
  crm::server::ServiceHost::Options options;
  options.services = {&service};
  options.readiness = [&] { return crm::server::ProjectionsReady(*engine); };
  options.shutdown_steps = {{"flush publisher",
                             [&](absl::Time deadline) {
                               return publisher->Flush(deadline - absl::Now());
                             }},
                            {"close engine",
                             [&](absl::Time) {
                               projection_metrics.Reset();
                               publisher_metrics.Reset();
                               publisher.reset();
                               engine.reset();
                               return absl::OkStatus();
                             }},
                            {"close store", [&](absl::Time) {
                               store_metrics.Reset();
                               sealer.reset();
                               keys.reset();
                               store.reset();
                               return absl::OkStatus();
                             }}};
  ASSIGN_OR_RETURN(auto host, crm::server::ServiceHost::Start(
                                  config, *metrics, std::move(options)));
  return host->Wait();
}

}  // namespace

int main(int argc, char** argv) {
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
