// The echo service behind libs/server's tests (crm/server/testing/echo.proto):
// a callback service whose calls can wait (a slow call in flight during a
// shutdown) or fail with a chosen code. Test-only.
#pragma once

#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "crm/server/testing/echo.grpc.pb.h"

namespace crm::server::testing {

class EchoServiceImpl final : public EchoService::CallbackService {
 public:
  EchoServiceImpl();
  // REQUIRES: the server is shut down (every call finished).
  ~EchoServiceImpl() override;

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const EchoRequest* request,
                                 EchoResponse* response) override;

  // Calls waiting out their delay now.
  int waiting_calls() const;

 private:
  class DelayedCall;

  void Schedule(DelayedCall* call, absl::Time due);
  // Finishes `call` at once (cancelled) unless the timer thread already did.
  void Cancel(DelayedCall* call);
  void RunTimer();

  mutable absl::Mutex mutex_;
  std::multimap<absl::Time, DelayedCall*> due_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread timer_;
};

}  // namespace crm::server::testing
