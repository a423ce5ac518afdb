// The contact service in the bench's process: ContactServer
// (services/contact/server, the same assembly crm-contact runs: store with
// the key family, store-backed keys, AES-GCM sealer, every projection, the
// publisher on an embedded bus, the handlers) behind a ServiceHost on
// 127.0.0.1:0 with health and reflection, so `crm-bench contact` measures
// the same server build, options and threading as crm-contact.
//
//   RETURN_IF_ERROR(FillContactStore(data_dir, [&](EventStore& store) {...}));
//   ASSIGN_OR_RETURN(auto server, BenchContactServer::Start(data_dir, ...));
//   auto channel = server->NewChannel(0);
//
// Not thread-safe itself; the service it runs is.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace crm::eventstore {
class EventStore;
}

namespace crm::bench {

// Opens the store ContactServer will use in `data_dir` (created if
// missing) on its own, runs `fill` on it and closes it. Errors: the
// store's, `fill`'s.
absl::Status FillContactStore(
    const std::string& data_dir,
    const std::function<absl::Status(eventstore::EventStore&)>& fill);

class BenchContactServer {
 public:
  // Starts ContactServer on `data_dir`, waits until every projection is
  // live (caught up with the log; at most `catch_up_timeout`), then starts
  // the gRPC host. Errors: ContactServer's and the host's;
  // DEADLINE_EXCEEDED when the projections do not catch up in time.
  static absl::StatusOr<std::unique_ptr<BenchContactServer>> Start(
      const std::string& data_dir, absl::Duration catch_up_timeout);

  // Shuts the host down (its drain and ContactServer's shutdown steps).
  ~BenchContactServer();

  // A new channel to the host. Channels with different `index` do not share
  // a TCP connection.
  std::shared_ptr<grpc::Channel> NewChannel(int index) const;

 private:
  struct Parts;
  explicit BenchContactServer(std::unique_ptr<Parts> parts);

  std::unique_ptr<Parts> parts_;
};

}  // namespace crm::bench
