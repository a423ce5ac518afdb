#include "echo_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "crm/server/call_context.h"
#include "crm/server/logging.h"

namespace crm::server::testing {

// A call that finishes when its delay is over, or at once when cancelled
// (deadline, client, server shutdown): whichever comes first finishes it.
class EchoServiceImpl::DelayedCall final : public grpc::ServerUnaryReactor {
 public:
  DelayedCall(EchoServiceImpl& service, grpc::Status when_due)
      : service_(service), when_due_(std::move(when_due)) {}

  void OnCancel() override { service_.Cancel(this); }
  void OnDone() override { delete this; }

  // What the call finishes with when its time is up.
  const grpc::Status& when_due() const { return when_due_; }

 private:
  EchoServiceImpl& service_;
  const grpc::Status when_due_;
};

EchoServiceImpl::EchoServiceImpl() : timer_([this] { RunTimer(); }) {}

EchoServiceImpl::~EchoServiceImpl() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  timer_.join();
}

grpc::ServerUnaryReactor* EchoServiceImpl::Echo(
    grpc::CallbackServerContext* context, const EchoRequest* request,
    EchoResponse* response) {
  const std::string correlation_id = CorrelationId(*context);
  ScopedCorrelationId correlation(correlation_id);
  LogInfo("echo", {{"delay_ms", request->delay_ms()},
                   {"bytes", request->message().size()}});
  response->set_message(request->message());
  response->set_correlation_id(correlation_id);
  if (request->delay_ms() == 0) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(
        request->fail_code() == 0
            ? grpc::Status::OK
            : grpc::Status(static_cast<grpc::StatusCode>(request->fail_code()),
                           "failure requested"));
    return reactor;
  }
  // Honour the client's deadline: never wait past it, and say so when it
  // cut the wait short (finishing OK then would race the client's own
  // deadline).
  const absl::Duration delay = absl::Milliseconds(request->delay_ms());
  const absl::Duration wait = TimeLeft(*context, delay);
  auto* call = new DelayedCall(
      *this, wait < delay ? grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                         "the deadline passed before the "
                                         "requested delay was over")
                          : grpc::Status::OK);
  Schedule(call, absl::Now() + wait);
  return call;
}

int EchoServiceImpl::waiting_calls() const {
  absl::MutexLock lock(&mutex_);
  return static_cast<int>(due_.size());
}

void EchoServiceImpl::Schedule(DelayedCall* call, absl::Time due) {
  absl::MutexLock lock(&mutex_);
  due_.emplace(due, call);
}

void EchoServiceImpl::Cancel(DelayedCall* call) {
  bool found = false;
  {
    absl::MutexLock lock(&mutex_);
    for (auto it = due_.begin(); it != due_.end(); ++it) {
      if (it->second == call) {
        due_.erase(it);
        found = true;
        break;
      }
    }
  }
  if (found) {
    call->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
  }
}

void EchoServiceImpl::RunTimer() {
  while (true) {
    std::vector<DelayedCall*> finished;
    {
      absl::MutexLock lock(&mutex_);
      const absl::Time next = due_.empty()
                                  ? absl::Now() + absl::Milliseconds(50)
                                  : due_.begin()->first;
      // Woken by a stop or by a call due before `next`.
      const auto woken = [this, next]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return stopping_ || (!due_.empty() && due_.begin()->first < next);
      };
      mutex_.AwaitWithDeadline(absl::Condition(&woken), next);
      if (stopping_ && due_.empty()) return;
      const absl::Time now = absl::Now();
      while (!due_.empty() && due_.begin()->first <= now) {
        finished.push_back(due_.begin()->second);
        due_.erase(due_.begin());
      }
    }
    for (DelayedCall* call : finished) call->Finish(call->when_due());
  }
}

}  // namespace crm::server::testing
