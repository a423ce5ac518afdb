#include "crm/contact/server/contact_server.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crm/base/status_macros.h"
#include "crm/contact/api/store_key_provider.h"
#include "crm/contact/crypto/aes_gcm_sealer.h"
#include "crm/server/component_metrics.h"
#include "crm/server/readiness.h"

namespace crm::contact::server {
namespace {

// The service's name: its topic (crm.contact.events.v1) and the {service}
// label of its metrics.
constexpr std::string_view kService = "contact";

}  // namespace

// The parts, declared in the order they open: members are destroyed in
// reverse, so an early return of Start closes what it opened.
class ContactServerImpl {
 public:
  std::unique_ptr<eventstore::EventStore> store;
  crm::server::MetricsRegistration store_metrics;
  std::unique_ptr<api::StoreKeyProvider> keys;
  std::unique_ptr<AesGcmSealer> sealer;
  std::unique_ptr<projection::ProjectionEngine> engine;
  crm::server::MetricsRegistration projection_metrics;
  std::unique_ptr<bus::Publisher> publisher;
  crm::server::MetricsRegistration publisher_metrics;
  std::unique_ptr<api::ContactServiceImpl> service;
  crm::server::MetricsRegistration handler_metrics;
};

absl::StatusOr<std::unique_ptr<ContactServer>> ContactServer::Start(
    const Options& options, bus::Bus& bus,
    crm::server::MetricsEndpoint& metrics) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError(
        "the contact service has no data directory: pass its directory "
        "(--data-dir)");
  }
  auto impl = std::make_unique<ContactServerImpl>();
  eventstore::EventStore::Options store_options;
  store_options.path = options.data_dir + "/store";
  store_options.extra_column_families = {api::kKeyColumnFamily};
  // An erasure and the deletion of its keys commit in one batch.
  store_options.commit_hook = api::KeyErasureCommitHook(
      [server = impl.get()] { return server->store.get(); });
  ASSIGN_OR_RETURN(impl->store, eventstore::EventStore::Open(store_options));
  impl->store_metrics =
      crm::server::RegisterEventStoreMetrics(metrics, *impl->store, kService);
  impl->keys = std::make_unique<api::StoreKeyProvider>(impl->store.get());
  impl->sealer = std::make_unique<AesGcmSealer>(impl->keys.get());
  ASSIGN_OR_RETURN(
      impl->engine,
      projection::ProjectionEngine::Start(
          *impl->store, projections::ContactServiceProjections(
                            impl->sealer.get(), options.projections)));
  impl->projection_metrics =
      crm::server::RegisterProjectionMetrics(metrics, *impl->engine, kService);
  ASSIGN_OR_RETURN(impl->publisher,
                   bus.StartPublisher(*impl->store, std::string(kService)));
  impl->publisher_metrics = crm::server::RegisterPublisherMetrics(
      metrics, *impl->publisher, kService);
  impl->service = std::make_unique<api::ContactServiceImpl>(
      *impl->store, *impl->engine, *impl->sealer, options.service);
  impl->handler_metrics = crm::server::RegisterHandlerPoolMetrics(
      metrics, impl->service->handler_pool(), kService);
  return std::unique_ptr<ContactServer>(new ContactServer(std::move(impl)));
}

ContactServer::ContactServer(std::unique_ptr<ContactServerImpl> impl)
    : impl_(std::move(impl)) {}

ContactServer::~ContactServer() {
  // Best effort: an owner that ran the steps finds nothing left to do.
  StopProcessing().IgnoreError();
  CloseStore().IgnoreError();
}

grpc::Service* ContactServer::service() { return impl_->service.get(); }

void ContactServer::EndStreams() { impl_->service->EndStreams(); }

absl::Status ContactServer::Ready() const {
  if (impl_->engine == nullptr) {
    return absl::FailedPreconditionError(
        "the contact service is shutting down: its projections are stopped");
  }
  RETURN_IF_ERROR(crm::server::ProjectionsReady(*impl_->engine));
  // An erasure a crash interrupted is purged before the first call.
  return impl_->service->ResumePendingErasures(absl::Seconds(5));
}

absl::Status ContactServer::FlushPublisher(absl::Time deadline) {
  if (impl_->publisher == nullptr) return absl::OkStatus();
  return impl_->publisher->Flush(deadline - absl::Now());
}

absl::Status ContactServer::StopProcessing() {
  // Metrics first: their scrape callbacks read what is closed next.
  impl_->publisher_metrics.Reset();
  impl_->projection_metrics.Reset();
  impl_->publisher.reset();
  impl_->engine.reset();
  return absl::OkStatus();
}

absl::Status ContactServer::CloseStore() {
  impl_->store_metrics.Reset();
  impl_->sealer.reset();
  impl_->keys.reset();
  impl_->store.reset();
  return absl::OkStatus();
}

std::vector<crm::server::ShutdownStep> ContactServer::ShutdownSteps() {
  return {{"flush contact publisher",
           [this](absl::Time deadline) { return FlushPublisher(deadline); }},
          {"stop contact processing",
           [this](absl::Time) { return StopProcessing(); }},
          {"close contact store", [this](absl::Time) { return CloseStore(); }}};
}

eventstore::EventStore& ContactServer::store() { return *impl_->store; }

const projection::ProjectionEngine& ContactServer::engine() const {
  return *impl_->engine;
}

PersonalDataSealer& ContactServer::sealer() { return *impl_->sealer; }

}  // namespace crm::contact::server
