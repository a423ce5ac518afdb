// ContactServer: one running instance of the contact service, assembled
// from its parts, for the processes that host it (crm-contact, crm-suite)
// and for benchmarks.
//
// Start opens, in this order: the event store under `<data_dir>/store`
// (with the key column family), the store-backed key provider and the
// AES-GCM sealer, the projection engine running ContactServiceProjections(),
// the publisher of the store's log as the service "contact" on the given
// bus, and the gRPC ContactServiceImpl; and it registers the store,
// projection and publisher metrics on the given endpoint. The host
// (ServiceHost) serves service(), polls Ready(), and at shutdown calls, in
// this order and after the gRPC server has drained:
//   FlushPublisher(deadline)  every committed event published;
//   StopProcessing()          metrics unregistered, publisher and
//                             projections stopped;
//   CloseStore()              sealer, keys and store closed.
// ShutdownSteps() returns the three as ServiceHost steps for a process that
// hosts this service alone. A process hosting several services over one
// embedded bus runs each phase for every service before the next phase
// (consumers of one service read the stores of the others).
//
//   auto bus = crm::bus::NewEmbeddedBus();
//   ASSIGN_OR_RETURN(auto contact, ContactServer::Start(
//       {.data_dir = config.data_dir}, *bus, *metrics));
//   options.services = {contact->service()};
//   options.readiness = [&] { return contact->Ready(); };
//   options.shutdown_steps = contact->ShutdownSteps();
//   options.on_shutdown = {[&] { contact->EndStreams(); }};
//
// Thread safety: Ready() and the accessors may be called from any thread
// until StopProcessing(); the shutdown calls from one thread, in order.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/bus/bus.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/projections/service_projections.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/projection.h"
#include "crm/server/metrics.h"
#include "crm/server/service_host.h"

namespace crm::contact::server {

class ContactServerImpl;

class ContactServer {
 public:
  struct Options {
    // The service's directory; the store goes to <data_dir>/store (created
    // if missing). Required.
    std::string data_dir;
    // The handlers' options (waits, default phone region).
    api::ContactServiceImpl::Options service;
    // Projection versions (tests of rebuilds only).
    projections::ProjectionOptions projections;
  };

  // Opens and starts everything (see the file comment). Returns once the
  // projections run; they may still be catching up (Ready()).
  // Errors: INVALID_ARGUMENT when data_dir is empty; the store's errors
  // (UNAVAILABLE when it cannot be opened, e.g. another process holds it;
  // DATA_LOSS when it is corrupt); the engine's and the bus's errors
  // (ALREADY_EXISTS when "contact" already publishes on this embedded bus).
  // Nothing stays open on an error.
  // REQUIRES: `bus` and `metrics` outlive the server.
  static absl::StatusOr<std::unique_ptr<ContactServer>> Start(
      const Options& options, bus::Bus& bus,
      crm::server::MetricsEndpoint& metrics);

  // Runs the shutdown phases not run yet (see the file comment).
  ~ContactServer();

  ContactServer(const ContactServer&) = delete;
  ContactServer& operator=(const ContactServer&) = delete;

  // The gRPC service to register; owned by the server. REQUIRES: the host
  // serving it stops before StopProcessing().
  grpc::Service* service();

  // Ends the service's open change feeds (WatchEvents): give it to
  // ServiceHost::Options::on_shutdown, or an open feed holds the drain
  // until its deadline. Thread-safe.
  void EndStreams();

  // OK once every projection is live and the erasures a crash interrupted
  // are purged (ContactServiceImpl::ResumePendingErasures); otherwise
  // UNAVAILABLE saying what it waits for (ProjectionsReady).
  // FAILED_PRECONDITION after StopProcessing().
  absl::Status Ready() const;

  // Waits until every event committed so far is published, at most until
  // `deadline`: OK, or DEADLINE_EXCEEDED.
  absl::Status FlushPublisher(absl::Time deadline);
  // Unregisters the metrics, stops the publisher and the projections.
  absl::Status StopProcessing();
  // Closes the sealer, the key provider and the store.
  absl::Status CloseStore();

  // The three phases as ServiceHost steps ("flush contact publisher",
  // "stop contact processing", "close contact store").
  std::vector<crm::server::ShutdownStep> ShutdownSteps();

  // The parts, for in-process callers (sample data, benchmarks).
  // REQUIRES: before StopProcessing() (engine) / CloseStore() (the others).
  eventstore::EventStore& store();
  const projection::ProjectionEngine& engine() const;
  PersonalDataSealer& sealer();

 private:
  explicit ContactServer(std::unique_ptr<ContactServerImpl> impl);

  std::unique_ptr<ContactServerImpl> impl_;
};

}  // namespace crm::contact::server
