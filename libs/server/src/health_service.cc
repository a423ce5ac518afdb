#include "health_service.h"

#include <utility>

#include "fmt/format.h"

namespace crm::server {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream. Writes the latest status whenever it differs from the
// last one written; one write at a time. gRPC calls (StartWrite, Finish) are
// made without the reactor's own mutex held, since gRPC may run
// OnWriteDone inline from StartWrite.
class HealthService::WatchReactor final
    : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  WatchReactor(HealthService& service, std::string name)
      : service_(service), name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // Sets the status to send; with `end`, the stream ends (OK) once it is
  // sent. REQUIRES: the service's mutex_ is held (keeps `this` alive).
  void Update(ServingStatus status, bool end) {
    mutex_.Lock();
    latest_ = status;
    if (end && !finish_requested_) {
      finish_requested_ = true;
      finish_status_ = grpc::Status::OK;
    }
    Advance();  // Unlocks.
  }

  void OnWriteDone(bool ok) override {
    mutex_.Lock();
    writing_ = false;
    if (!ok && !finish_requested_) {
      finish_requested_ = true;
      finish_status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                    "the health stream broke");
    }
    Advance();
  }

  void OnCancel() override {
    mutex_.Lock();
    if (!finish_requested_) {
      finish_requested_ = true;
      finish_status_ =
          grpc::Status(grpc::StatusCode::CANCELLED, "health watch cancelled");
    }
    Advance();
  }

  void OnDone() override {
    service_.Unregister(this);
    delete this;
  }

 private:
  // Starts the next write or the finish, if one is due and nothing is being
  // written. REQUIRES: mutex_ held; releases it.
  void Advance() ABSL_UNLOCK_FUNCTION(mutex_) {
    if (writing_ || finished_) {
      mutex_.Unlock();
      return;
    }
    if (!finish_requested_ || finish_status_.ok()) {
      if (!sent_any_ || latest_ != sent_) {
        sent_any_ = true;
        sent_ = latest_;
        response_.set_status(latest_);
        writing_ = true;
        mutex_.Unlock();
        StartWrite(&response_);
        return;
      }
    }
    if (finish_requested_) {
      finished_ = true;
      const grpc::Status status = finish_status_;
      mutex_.Unlock();
      Finish(status);
      return;
    }
    mutex_.Unlock();
  }

  HealthService& service_;
  const std::string name_;
  absl::Mutex mutex_;
  ServingStatus latest_ ABSL_GUARDED_BY(mutex_) = HealthCheckResponse::UNKNOWN;
  ServingStatus sent_ ABSL_GUARDED_BY(mutex_) = HealthCheckResponse::UNKNOWN;
  bool sent_any_ ABSL_GUARDED_BY(mutex_) = false;
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool finish_requested_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mutex_);
  // Written only while no write is in flight.
  HealthCheckResponse response_;
};

HealthService::HealthService() {
  absl::MutexLock lock(&mutex_);
  names_.insert(std::string(grpc::health::v1::Health::service_full_name()));
}

HealthService::~HealthService() = default;

void HealthService::SetServiceNames(const std::vector<std::string>& names) {
  absl::MutexLock lock(&mutex_);
  names_.insert(names.begin(), names.end());
  NotifyWatchers();
}

void HealthService::SetServing(bool serving) {
  absl::MutexLock lock(&mutex_);
  if (shut_down_ || serving_ == serving) return;
  serving_ = serving;
  NotifyWatchers();
}

bool HealthService::serving() const {
  absl::MutexLock lock(&mutex_);
  return serving_;
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mutex_);
  if (shut_down_) return;
  shut_down_ = true;
  serving_ = false;
  NotifyWatchers();
}

HealthService::ServingStatus HealthService::StatusOf(
    std::string_view service) const {
  if (!service.empty() && names_.find(service) == names_.end()) {
    return HealthCheckResponse::SERVICE_UNKNOWN;
  }
  return serving_ ? HealthCheckResponse::SERVING
                  : HealthCheckResponse::NOT_SERVING;
}

void HealthService::NotifyWatchers() {
  for (WatchReactor* watcher : watchers_) {
    watcher->Update(StatusOf(watcher->name()), /*end=*/shut_down_);
  }
}

void HealthService::Unregister(WatchReactor* watcher) {
  absl::MutexLock lock(&mutex_);
  watchers_.erase(watcher);
}

grpc::ServerUnaryReactor* HealthService::Check(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request,
    HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  ServingStatus status;
  {
    absl::MutexLock lock(&mutex_);
    status = StatusOf(request->service());
  }
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        fmt::format("unknown service \"{}\"; ask for \"\" (the whole server) "
                    "or a service it serves",
                    request->service())));
    return reactor;
  }
  response->set_status(status);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* /*context*/,
    const HealthCheckRequest* request) {
  auto* watcher = new WatchReactor(*this, request->service());
  absl::MutexLock lock(&mutex_);
  watchers_.insert(watcher);
  watcher->Update(StatusOf(watcher->name()), /*end=*/shut_down_);
  return watcher;
}

}  // namespace crm::server
