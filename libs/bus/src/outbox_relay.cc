#include "crm/bus/outbox_relay.h"

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "crm/base/status_macros.h"
#include "fmt/format.h"
#include "kafka_producer.h"
#include "kafka_status.h"
#include "log_read_ahead.h"
#include "relay_cursor.h"

namespace crm::bus {
namespace {

// How long the relay waits before recreating a producer or a subscription
// that failed, and before retrying a produce call that failed.
constexpr absl::Duration kRetryBackoff = absl::Seconds(1);

// How often, at most, the cursor is stored while events keep being
// acknowledged. Each store is a synced write that shares the disk with the
// service's appends; a cursor that lags only means a few more duplicates
// after a crash, which consumers drop by event_id.
constexpr absl::Duration kCursorStoreInterval = absl::Milliseconds(100);

// How long a new producer waits for its topic's partitions before it
// produces (RequestTopicMetadata); Stop may wait that long too.
constexpr absl::Duration kTopicMetadataWait = absl::Seconds(1);

// How far past the cursor the relay produces, in multiples of max_in_flight.
// Partitions acknowledge out of order, so events past one that is still
// unacknowledged may all be acknowledged: they no longer count as in flight,
// but the cursor cannot pass them yet. This bounds that window (one flag per
// event) while one slow partition holds the cursor back.
constexpr size_t kWindowPerInFlight = 8;

bool ValidServiceName(const std::string& service) {
  if (service.empty() || service.size() > 64) return false;
  for (char c : service) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

class OutboxRelayImpl final : public OutboxRelay {
 public:
  OutboxRelayImpl(eventstore::EventStore& store, RelayOptions options,
                  std::string topic, RelayCursor cursor, uint64_t start)
      : store_(store),
        options_(std::move(options)),
        topic_(std::move(topic)),
        cursor_store_(std::move(cursor)),
        acked_cursor_(start),
        cursor_(start) {}

  ~OutboxRelayImpl() override {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

  // Creates the first producer (checking the configuration) and starts the
  // relay's thread.
  absl::Status Init() {
    ASSIGN_OR_RETURN(producer_,
                     NewIdempotentProducer(options_.kafka_config, Callbacks()));
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  absl::Status Flush(absl::Duration timeout) override {
    const uint64_t target = store_.LastPosition();
    absl::MutexLock lock(&mu_);
    auto reached = [this, target]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return cursor_ >= target;
    };
    if (mu_.AwaitWithTimeout(absl::Condition(&reached), timeout)) {
      return absl::OkStatus();
    }
    return absl::DeadlineExceededError(fmt::format(
        "the relay to {} reached position {} of {} within {}; last error: "
        "{}; check that Kafka is reachable (status() shows the progress)",
        topic_, cursor_, target, absl::FormatDuration(timeout),
        last_error_.ok() ? "none" : last_error_.ToString()));
  }

  RelayStatus status() const override {
    RelayStatus status;
    status.last_position = store_.LastPosition();
    absl::MutexLock lock(&mu_);
    status.cursor = cursor_;
    status.lag =
        status.last_position > cursor_ ? status.last_position - cursor_ : 0;
    status.connected = connected_;
    status.producer_resets = producer_resets_;
    status.last_error = last_error_;
    if (failing_) {
      status.state = RelayStatus::State::kFailed;
    } else if (!connected_ && status.lag > 0) {
      status.state = RelayStatus::State::kDisconnected;
    } else {
      status.state = RelayStatus::State::kProducing;
    }
    return status;
  }

  const std::string& topic() const override { return topic_; }

 private:
  ProducerCallbacks Callbacks() {
    return ProducerCallbacks{this, &OutboxRelayImpl::OnDelivery,
                             &OutboxRelayImpl::OnError};
  }

  // librdkafka callbacks, served by rd_kafka_poll/flush on the relay thread.
  static void OnDelivery(rd_kafka_t* /*producer*/,
                         const rd_kafka_message_t* message, void* opaque) {
    static_cast<OutboxRelayImpl*>(opaque)->Delivered(
        reinterpret_cast<uintptr_t>(message->_private), message->err);
  }
  static void OnError(rd_kafka_t* /*producer*/, int err, const char* reason,
                      void* opaque) {
    auto* relay = static_cast<OutboxRelayImpl*>(opaque);
    const auto code = static_cast<rd_kafka_resp_err_t>(err);
    absl::MutexLock lock(&relay->mu_);
    relay->last_error_ = KafkaErrorToStatus(
        code,
        fmt::format("in the producer for {} ({})", relay->topic_, reason));
    if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
      relay->connected_ = false;
      relay->delivered_ = false;  // Deliveries before this one are older news.
    }
  }

  void Delivered(uint64_t position, rd_kafka_resp_err_t err) {
    if (discarding_) return;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // With message.timeout.ms=0 only fatal or permanent errors get here.
      // The producer is recreated and everything past the cursor produced
      // again, in order.
      reset_needed_ = true;
      RecordError(KafkaErrorToStatus(
          err, fmt::format("delivering position {} to {}", position, topic_)));
      return;
    }
    if (position > acked_cursor_ && position - acked_cursor_ <= acked_.size() &&
        !acked_[position - acked_cursor_ - 1]) {
      acked_[position - acked_cursor_ - 1] = true;
      --unacked_;
    }
    delivered_ = true;  // Published as connected_ by PersistCursor.
  }

  void RecordError(absl::Status status) {
    absl::MutexLock lock(&mu_);
    last_error_ = std::move(status);
  }

  bool Stopping() const {
    absl::MutexLock lock(&mu_);
    return stop_;
  }

  // Waits up to `duration`, returning early when the relay is stopped.
  void WaitUnlessStopped(absl::Duration duration) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_), duration);
  }

  void SetFailing(bool failing) {
    absl::MutexLock lock(&mu_);
    failing_ = failing;
  }

  void Run() {
    while (!Stopping()) {
      if (!EnsureProducerAndSubscription()) {
        WaitUnlessStopped(kRetryBackoff);
        continue;
      }
      if (new_producer_) {
        RequestTopicMetadata(producer_.get(), topic_, kTopicMetadataWait);
        new_producer_ = false;
      }
      if (HasRoom() && next_index_ >= batch_.size()) ReadBatch();
      // Blocked (in-flight limit, full queue): wait for delivery reports
      // rather than spin.
      const bool blocked = !ProduceBatch() || !HasRoom();
      rd_kafka_poll(producer_.get(), blocked ? 50 : 0);
      PersistCursor(/*force=*/false);
      char reason[512] = {0};
      const rd_kafka_resp_err_t fatal =
          rd_kafka_fatal_error(producer_.get(), reason, sizeof(reason));
      if (fatal != RD_KAFKA_RESP_ERR_NO_ERROR) {
        RecordError(KafkaErrorToStatus(
            fatal, fmt::format("(fatal) producing to {}: {}", topic_, reason)));
        reset_needed_ = true;
      }
      if (reset_needed_) {
        ResetProducer();
        WaitUnlessStopped(kRetryBackoff);
      }
    }
    Shutdown();
  }

  // Returns false when either cannot be created now (the error is recorded).
  bool EnsureProducerAndSubscription() {
    if (producer_ == nullptr) {
      absl::StatusOr<ProducerPtr> producer =
          NewIdempotentProducer(options_.kafka_config, Callbacks());
      if (!producer.ok()) {
        RecordError(producer.status());
        SetFailing(true);
        return false;
      }
      producer_ = *std::move(producer);
      new_producer_ = true;
    }
    if (reader_ == nullptr) {
      const uint64_t from = acked_cursor_ + acked_.size() + 1;
      absl::StatusOr<std::unique_ptr<LogReadAhead>> reader =
          LogReadAhead::Start(store_, from, options_.read_batch_events);
      if (!reader.ok()) {
        RecordError(reader.status());
        SetFailing(true);
        return false;
      }
      reader_ = *std::move(reader);
      batch_.clear();
      next_index_ = 0;
    }
    SetFailing(false);
    return true;
  }

  // Takes the next batch the reader prepared (the memory of the last one
  // goes back to the reader for reuse).
  void ReadBatch() {
    next_index_ = 0;
    const absl::Duration wait =
        acked_.empty() ? absl::Milliseconds(100) : absl::Milliseconds(10);
    absl::Status status = reader_->Next(wait, batch_);
    if (!status.ok()) {
      RecordError(std::move(status));
      batch_.clear();
      reader_.reset();  // Read again from the next position.
      WaitUnlessStopped(kRetryBackoff);
    }
  }

  // Whether another event may be produced: fewer than max_in_flight
  // unacknowledged, and the window past the cursor not at its bound.
  bool HasRoom() const {
    return unacked_ < options_.max_in_flight &&
           acked_.size() < kWindowPerInFlight * options_.max_in_flight;
  }

  // Produces events of the batch while max_in_flight allows. Returns false
  // when it had to stop early (in-flight limit, full queue, error).
  bool ProduceBatch() {
    while (next_index_ < batch_.size()) {
      if (!HasRoom()) return false;
      const LogReadAhead::Event& event = batch_[next_index_];
      const uint64_t expected = acked_cursor_ + acked_.size() + 1;
      if (event.global_position != expected) {
        RecordError(absl::InternalError(fmt::format(
            "the relay to {} read position {} where it expected {}; it "
            "re-reads the log from its cursor",
            topic_, event.global_position, expected)));
        reset_needed_ = true;
        return false;
      }
      const rd_kafka_resp_err_t err =
          ProduceEvent(producer_.get(), topic_, event.stream, event.envelope,
                       event.event_id, event.type,
                       reinterpret_cast<void*>(
                           static_cast<uintptr_t>(event.global_position)));
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return false;
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        RecordError(KafkaErrorToStatus(
            err, fmt::format("producing position {} to {}",
                             event.global_position, topic_)));
        WaitUnlessStopped(kRetryBackoff);
        return false;
      }
      acked_.push_back(false);
      ++unacked_;
      ++next_index_;
    }
    return true;
  }

  // Moves the cursor over the acknowledged prefix and stores it, at most
  // every kCursorStoreInterval unless `force`, or when the relay has caught
  // up with the events it produced (so Flush returns promptly).
  void PersistCursor(bool force) {
    while (!acked_.empty() && acked_.front()) {
      acked_.pop_front();
      ++acked_cursor_;
    }
    {
      // Once per round, not per delivery: Flush waits on mu_, and every
      // unlock re-evaluates its condition.
      absl::MutexLock lock(&mu_);
      if (delivered_) connected_ = true;
      delivered_ = false;
      if (acked_cursor_ == cursor_) return;
    }
    const absl::Time now = absl::Now();
    if (!force && !acked_.empty() &&
        now - last_cursor_store_ < kCursorStoreInterval) {
      return;
    }
    last_cursor_store_ = now;
    absl::Status stored = cursor_store_.Store(acked_cursor_);
    if (!stored.ok()) {
      RecordError(std::move(stored));  // Stored again on the next round.
      return;
    }
    absl::MutexLock lock(&mu_);
    cursor_ = acked_cursor_;
  }

  // Drops the producer and everything not acknowledged; the next round
  // produces again from the cursor.
  void ResetProducer() {
    PersistCursor(/*force=*/true);
    DestroyProducer();
    acked_.clear();
    unacked_ = 0;
    reader_.reset();
    batch_.clear();
    next_index_ = 0;
    reset_needed_ = false;
    absl::MutexLock lock(&mu_);
    ++producer_resets_;
  }

  void DestroyProducer() {
    if (producer_ == nullptr) return;
    discarding_ = true;
    rd_kafka_purge(producer_.get(),
                   RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(producer_.get(), 0);
    producer_.reset();
    discarding_ = false;
  }

  void Shutdown() {
    if (producer_ != nullptr && !reset_needed_) {
      rd_kafka_flush(producer_.get(),
                     static_cast<int>(
                         absl::ToInt64Milliseconds(options_.shutdown_timeout)));
      PersistCursor(/*force=*/true);
    }
    DestroyProducer();
    reader_.reset();
  }

  eventstore::EventStore& store_;
  const RelayOptions options_;
  const std::string topic_;

  // Owned by the relay thread (and Init before it starts).
  RelayCursor cursor_store_;
  ProducerPtr producer_;
  std::unique_ptr<LogReadAhead> reader_;
  std::vector<LogReadAhead::Event> batch_;
  size_t next_index_ = 0;  // The next event of batch_ to produce.
  // Positions produced past the cursor: acked_[i] is position
  // acked_cursor_ + 1 + i, true once Kafka acknowledged it.
  std::deque<bool> acked_;
  size_t unacked_ = 0;  // The false entries of acked_: events in flight.
  uint64_t acked_cursor_ = 0;
  absl::Time last_cursor_store_ = absl::InfinitePast();
  bool reset_needed_ = false;
  bool discarding_ = false;   // Ignore delivery reports while destroying.
  bool delivered_ = false;    // A delivery succeeded since PersistCursor.
  bool new_producer_ = true;  // producer_ has not asked for metadata yet.
  std::thread thread_;

  mutable absl::Mutex mu_;
  uint64_t cursor_ ABSL_GUARDED_BY(mu_) = 0;  // Stored cursor.
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t producer_resets_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<OutboxRelay>> OutboxRelay::Start(
    eventstore::EventStore& store, RelayOptions options) {
  if (!ValidServiceName(options.service)) {
    return absl::InvalidArgumentError(fmt::format(
        "RelayOptions::service '{}' is not a service name; use 1 to 64 "
        "lower-case letters, digits or '-', such as \"contact\"",
        options.service));
  }
  if (options.max_in_flight == 0 || options.read_batch_events == 0) {
    return absl::InvalidArgumentError(
        "RelayOptions::max_in_flight and read_batch_events must be at least "
        "1");
  }
  RETURN_IF_ERROR(CheckProducerConfig(options.kafka_config));
  std::string topic = fmt::format("crm.{}.events.v1", options.service);
  ASSIGN_OR_RETURN(RelayCursor cursor, RelayCursor::Open(store, topic));
  ASSIGN_OR_RETURN(uint64_t start, cursor.Load());
  auto relay = std::make_unique<OutboxRelayImpl>(
      store, std::move(options), std::move(topic), std::move(cursor), start);
  RETURN_IF_ERROR(relay->Init());
  return relay;
}

}  // namespace crm::bus
