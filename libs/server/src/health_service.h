// The grpc.health.v1 service of a ServiceHost: one serving status for the
// whole process, reported for "" and for every registered service name.
// Internal to libs/server.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace crm::server {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService();
  // REQUIRES: the server is shut down (no Watch stream is running).
  ~HealthService() override;

  // The service names Check and Watch answer for, besides "".
  void SetServiceNames(const std::vector<std::string>& names);

  // SERVING or NOT_SERVING; Watch streams get the change. Ignored after
  // Shutdown.
  void SetServing(bool serving);
  bool serving() const;

  // NOT_SERVING for good: every Watch stream gets it and then ends with OK,
  // so that draining the server does not wait for them.
  void Shutdown();

  grpc::ServerUnaryReactor* Check(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request,
      grpc::health::v1::HealthCheckResponse* response) override;

  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class WatchReactor;

  ServingStatus StatusOf(std::string_view service) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void NotifyWatchers() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Unregister(WatchReactor* watcher);

  // Lock order: mutex_, then a WatchReactor's. Reactors are notified with
  // mutex_ held, which keeps them alive (OnDone unregisters under it).
  mutable absl::Mutex mutex_;
  bool serving_ ABSL_GUARDED_BY(mutex_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;
  std::set<std::string, std::less<>> names_ ABSL_GUARDED_BY(mutex_);
  std::set<WatchReactor*> watchers_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace crm::server
