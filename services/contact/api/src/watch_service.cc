// Change feed: WatchEvents (contact_service.h).
//
// Each stream is a WatchReactor with one worker thread that follows the
// store's log through a Subscription (the stored events first, then live
// ones as they commit), keeps the caller's tenant's events that pass the
// request's filters, and writes them one at a time: the next write starts
// only when OnWriteDone reported the previous one, so a slow client holds
// one response and one subscription batch, never a queue. While nothing is
// sent for kHeartbeatInterval, a heartbeat carries the position up to which
// everything has been sent or filtered out.
//
// A stream ends when the client cancels (or its deadline passes), when the
// log cannot be read (the status says why), and when the server begins to
// shut down (EndStreams: UNAVAILABLE, reconnect from the last position), so
// an open feed never holds the server's drain.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "crm/base/status_macros.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/api/grpc_status.h"
#include "crm/server/logging.h"
#include "fmt/format.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

constexpr absl::Duration kHeartbeatInterval = absl::Seconds(1);
// Most events one subscription batch holds (the stream's memory bound).
constexpr size_t kBatchEvents = 256;
// Most streams open at once; more are refused (RESOURCE_EXHAUSTED).
constexpr size_t kMaxStreams = 256;
// Most entries of each filter.
constexpr int kMaxFilterEntries = 100;

class WatchReactor;

}  // namespace

// The open streams of one ContactServiceImpl, so that EndStreams can end
// them. Lock order: WatchStreams::mutex_ before WatchReactor::mutex_.
class WatchStreams {
 public:
  // OK and registered, or why not (shutting down, too many streams).
  absl::Status Add(WatchReactor* stream);
  void Remove(WatchReactor* stream);
  void EndAll();

 private:
  absl::Mutex mutex_;
  bool ended_ ABSL_GUARDED_BY(mutex_) = false;
  std::set<WatchReactor*> streams_ ABSL_GUARDED_BY(mutex_);
};

namespace {

class WatchReactor final
    : public grpc::ServerWriteReactor<v1::WatchEventsResponse> {
 public:
  WatchReactor(const ServiceDeps& deps, std::shared_ptr<WatchStreams> streams,
               grpc::CallbackServerContext* call,
               const v1::WatchEventsRequest& request)
      : deps_(deps),
        streams_(std::move(streams)),
        types_(request.types().begin(), request.types().end()),
        names_(request.streams().begin(), request.streams().end()),
        examined_(request.after_position()) {
    absl::Status started = Begin(*call, request);
    if (!started.ok()) {
      Finish(ToGrpcStatus(started));
      return;
    }
    worker_ = std::thread([this] { Run(); });
  }

  // Ends the stream from the server's side (shutdown).
  void End() {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
    end_status_ = absl::UnavailableError(
        "the server is shutting down; reconnect (to another replica) with "
        "after_position set to the last position you processed");
    if (subscription_ != nullptr) subscription_->Cancel();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mutex_);
    write_in_flight_ = false;
    if (!ok) {
      stop_ = true;
      if (end_status_.ok()) {
        end_status_ = absl::CancelledError("the client stopped reading");
      }
      if (subscription_ != nullptr) subscription_->Cancel();
    }
  }

  void OnCancel() override {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
    if (end_status_.ok()) {
      end_status_ = absl::CancelledError("the client cancelled the stream");
    }
    if (subscription_ != nullptr) subscription_->Cancel();
  }

  void OnDone() override {
    if (registered_) streams_->Remove(this);
    if (worker_.joinable()) {
      if (worker_.get_id() == std::this_thread::get_id()) {
        worker_.detach();  // Finish ran OnDone inline: nothing follows it.
      } else {
        worker_.join();
      }
    }
    delete this;
  }

 private:
  absl::Status Begin(const grpc::CallbackServerContext& call,
                     const v1::WatchEventsRequest& request) {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(call, deps_));
    tenant_ = context.tenant;
    if (request.types_size() > kMaxFilterEntries) {
      return InvalidField(
          "types", fmt::format("names more than {} types", kMaxFilterEntries));
    }
    if (request.streams_size() > kMaxFilterEntries) {
      return InvalidField("streams", fmt::format("names more than {} streams",
                                                 kMaxFilterEntries));
    }
    if (request.after_position() == UINT64_MAX) {
      return InvalidField("after_position", "is past every position");
    }
    RETURN_IF_ERROR(streams_->Add(this));
    registered_ = true;
    eventstore::SubscriptionOptions options;
    options.max_batch_events = kBatchEvents;
    ASSIGN_OR_RETURN(
        std::unique_ptr<eventstore::Subscription> subscription,
        deps_.store.SubscribeToAll(request.after_position() + 1, options));
    absl::MutexLock lock(&mutex_);
    subscription_ = std::move(subscription);
    return absl::OkStatus();
  }

  bool Wanted(const eventstore::Envelope& event) const {
    return event.tenant() == tenant_ &&
           (types_.empty() || types_.count(event.type()) > 0) &&
           (names_.empty() || names_.count(event.stream()) > 0);
  }

  // Starts writing response_. REQUIRES: no write in flight.
  void Send() {
    {
      absl::MutexLock lock(&mutex_);
      write_in_flight_ = true;
    }
    last_sent_ = absl::Now();
    StartWrite(&response_);
  }

  bool Writable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return !write_in_flight_;
  }
  bool WritableOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return !write_in_flight_ || stop_;
  }

  // Waits until no write is in flight; false when the stream must stop.
  bool AwaitWritable() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(this, &WatchReactor::WritableOrStopping));
    return !stop_;
  }

  void Run() {
    absl::Status status = Follow();
    {
      // A write still in flight completes (or fails) before Finish.
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(this, &WatchReactor::Writable));
      if (!end_status_.ok()) status = end_status_;
    }
    if (!status.ok() && !absl::IsCancelled(status) &&
        !absl::IsUnavailable(status)) {
      server::LogWarn("a change feed failed",
                      {{"code", absl::StatusCodeToString(status.code())},
                       {"error", std::string(status.message())}});
    }
    Finish(ToGrpcStatus(status));
  }

  // Sends until the stream must stop; returns the reason.
  absl::Status Follow() {
    std::vector<eventstore::Envelope> batch;
    size_t next = 0;
    last_sent_ = absl::Now();
    while (AwaitWritable()) {
      if (next < batch.size()) {
        eventstore::Envelope& event = batch[next++];
        examined_ = event.global_position();
        if (!Wanted(event)) continue;
        *response_.mutable_event() = std::move(event);
        Send();
        continue;
      }
      const absl::Time now = absl::Now();
      if (now - last_sent_ >= kHeartbeatInterval) {
        response_.set_heartbeat_position(examined_);
        Send();
        continue;
      }
      const absl::Status read =
          subscription_->NextInto(last_sent_ + kHeartbeatInterval - now, batch);
      next = 0;
      if (absl::IsCancelled(read)) return absl::OkStatus();  // stop_ says why.
      RETURN_IF_ERROR(read);
      if (batch.empty()) {
        // Caught up: every event before next_position() was examined.
        examined_ = std::max(examined_, subscription_->next_position() - 1);
      }
    }
    return absl::OkStatus();
  }

  const ServiceDeps& deps_;
  const std::shared_ptr<WatchStreams> streams_;
  const std::set<std::string, std::less<>> types_;
  const std::set<std::string, std::less<>> names_;
  std::string tenant_;
  bool registered_ = false;
  std::thread worker_;

  // Owned by the worker thread (and by gRPC while a write is in flight).
  v1::WatchEventsResponse response_;
  uint64_t examined_ = 0;  // Every event up to here was sent or skipped.
  absl::Time last_sent_;

  absl::Mutex mutex_;
  // Set in Begin, before the worker starts; Cancel() is thread-safe.
  std::unique_ptr<eventstore::Subscription> subscription_;
  bool write_in_flight_ ABSL_GUARDED_BY(mutex_) = false;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Status end_status_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace

absl::Status WatchStreams::Add(WatchReactor* stream) {
  absl::MutexLock lock(&mutex_);
  if (ended_) {
    return absl::UnavailableError(
        "the server is shutting down; reconnect (to another replica)");
  }
  if (streams_.size() >= kMaxStreams) {
    return absl::ResourceExhaustedError(fmt::format(
        "this server already serves {} change feeds; retry later or "
        "close feeds you no longer read",
        kMaxStreams));
  }
  streams_.insert(stream);
  return absl::OkStatus();
}

void WatchStreams::Remove(WatchReactor* stream) {
  absl::MutexLock lock(&mutex_);
  streams_.erase(stream);
}

void WatchStreams::EndAll() {
  absl::MutexLock lock(&mutex_);
  ended_ = true;
  for (WatchReactor* stream : streams_) stream->End();
}

std::shared_ptr<WatchStreams> NewWatchStreams() {
  return std::make_shared<WatchStreams>();
}

void ContactServiceImpl::EndStreams() { watch_streams_->EndAll(); }

grpc::ServerWriteReactor<v1::WatchEventsResponse>*
ContactServiceImpl::WatchEvents(grpc::CallbackServerContext* call,
                                const v1::WatchEventsRequest* request) {
  server::ScopedCorrelationId correlation(server::CorrelationId(*call));
  return new WatchReactor(deps_, watch_streams_, call, *request);
}

}  // namespace crm::contact::api
