#include "consumer_core.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "consumer_state.h"
#include "crm/base/status_macros.h"
#include "crm/eventstore/rocksdb_status.h"
#include "dead_letter_publisher.h"
#include "fmt/format.h"
#include "rocksdb/db.h"
#include "rocksdb/utilities/write_batch_with_index.h"

namespace crm::bus {
namespace {

// How long the consumer waits after a failed commit or poll.
constexpr absl::Duration kRetryBackoff = absl::Seconds(1);
// How often unpublished dead letters are looked for in the store.
constexpr absl::Duration kDeadLetterRescan = absl::Seconds(5);
constexpr size_t kDeadLetterBatch = 256;

bool ValidName(std::string_view name, bool allow_underscore) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           (allow_underscore && c == '_');
  });
}

using PartitionKey = std::pair<std::string, int32_t>;

// HandlerBatch over the consumer's WriteBatchWithIndex.
class BatchWriter final : public HandlerBatch {
 public:
  BatchWriter(rocksdb::DB& db, rocksdb::WriteBatchWithIndex& batch)
      : db_(db), batch_(batch) {}

  absl::StatusOr<std::optional<std::string>> Get(
      rocksdb::ColumnFamilyHandle& family,
      std::string_view key) const override {
    std::string value;
    const rocksdb::Status status = batch_.GetFromBatchAndDB(
        &db_, rocksdb::ReadOptions(), &family, key, &value);
    if (status.IsNotFound()) return std::nullopt;
    RETURN_IF_ERROR(eventstore::FromRocksDb(status, "reading for a handler"));
    return value;
  }
  void Put(rocksdb::ColumnFamilyHandle& family, std::string_view key,
           std::string_view value) override {
    batch_.Put(&family, key, value);
  }
  void Delete(rocksdb::ColumnFamilyHandle& family,
              std::string_view key) override {
    batch_.Delete(&family, key);
  }

 private:
  rocksdb::DB& db_;
  rocksdb::WriteBatchWithIndex& batch_;
};

struct RedriveRequest {
  std::string topic;
  std::string stream;
  absl::StatusOr<uint64_t> result = uint64_t{0};
  absl::Notification done;
};

// What one batch changes besides the store, applied once it committed.
struct BatchEffects {
  std::map<PartitionKey, PartitionCursor> cursors;
  uint64_t handled = 0;
  uint64_t duplicates = 0;
  uint64_t dead_lettered = 0;
  uint64_t newly_parked = 0;
};

class ConsumerImpl final : public Consumer, public SourceListener {
 public:
  ConsumerImpl(eventstore::EventStore& store, EventHandler& handler,
               ConsumerOptions options, ConsumerState state)
      : store_(store),
        handler_(handler),
        options_(std::move(options)),
        state_(std::move(state)) {}

  ~ConsumerImpl() override {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    if (source_ != nullptr) source_->Wake();
    if (thread_.joinable()) thread_.join();
    source_.reset();  // Leaves the group; may call Revoked.
    absl::MutexLock lock(&mu_);
    for (const std::shared_ptr<RedriveRequest>& request : redrives_) {
      request->result = absl::CancelledError(
          "the consumer stopped before it re-drove the stream; retry");
      request->done.Notify();
    }
  }

  absl::Status Init(const SourceFactory& make_source,
                    const KafkaConfig* dead_letter_config) {
    if (dead_letter_config != nullptr) {
      ASSIGN_OR_RETURN(dead_letters_,
                       DeadLetterPublisher::Create(
                           *dead_letter_config,
                           fmt::format("crm.{}.dlq.v1", options_.service)));
    }
    ASSIGN_OR_RETURN(uint64_t parked, state_.CountParked());
    {
      absl::MutexLock lock(&mu_);
      parked_streams_ = parked;
    }
    ASSIGN_OR_RETURN(source_, make_source(*this));
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  // SourceListener (consumer thread).
  absl::StatusOr<int64_t> StartOffset(const std::string& topic,
                                      int32_t partition) override {
    ASSIGN_OR_RETURN(std::optional<PartitionCursor> stored,
                     state_.LoadCursor(topic, partition));
    const PartitionCursor cursor = stored.value_or(PartitionCursor{});
    cursors_[{topic, partition}] = cursor;
    absl::MutexLock lock(&mu_);
    positions_[{topic, partition}] = cursor.next_offset;
    return cursor.next_offset;
  }

  void Revoked(const std::string& topic, int32_t partition) override {
    cursors_.erase({topic, partition});
    absl::MutexLock lock(&mu_);
    positions_.erase({topic, partition});
  }

  ConsumerStatus status() const override {
    ConsumerStatus status;
    absl::MutexLock lock(&mu_);
    status.state = state_code_;
    for (const auto& [key, next] : positions_) {
      PartitionLag& lag = status.partitions.emplace_back();
      lag.topic = key.first;
      lag.partition = key.second;
      lag.next_offset = next;
      lag.high_watermark = source_->HighWatermark(key.first, key.second);
      lag.lag = std::max<int64_t>(0, lag.high_watermark - next);
      status.lag += static_cast<uint64_t>(lag.lag);
    }
    status.handled = handled_;
    status.duplicates_skipped = duplicates_;
    status.dead_lettered = dead_lettered_;
    status.parked_streams = parked_streams_;
    status.dead_letters_unpublished = dead_letters_unpublished_;
    status.last_error = last_error_;
    if (status.last_error.ok() && source_ != nullptr) {
      status.last_error = source_->last_error();
    }
    return status;
  }

  absl::Status WaitUntilCaughtUp(absl::Duration timeout) const override {
    const absl::Time deadline = absl::Now() + timeout;
    uint64_t lag = 0;
    size_t partitions = 0;
    while (absl::Now() < deadline) {
      // The partitions' ends now (asked outside mu_: it may block), then
      // wait for the consumer to reach them, or for the assignment to
      // change.
      std::map<PartitionKey, int64_t> targets;
      {
        absl::MutexLock lock(&mu_);
        for (const auto& [key, next] : positions_) targets[key] = -1;
      }
      for (auto& [key, end] : targets) {
        end = source_->HighWatermark(key.first, key.second, /*fresh=*/true);
      }
      absl::MutexLock lock(&mu_);
      auto reached = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        if (stop_ || positions_.size() != targets.size()) return true;
        for (const auto& [key, next] : positions_) {
          auto target = targets.find(key);
          if (target == targets.end()) return true;  // Reassigned.
          if (target->second < 0 || next < target->second) return false;
        }
        return true;
      };
      mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
      lag = 0;
      partitions = positions_.size();
      bool caught_up = !targets.empty() && positions_.size() == targets.size();
      for (const auto& [key, next] : positions_) {
        auto target = targets.find(key);
        if (target == targets.end() || target->second < 0) {
          caught_up = false;
          continue;
        }
        lag +=
            static_cast<uint64_t>(std::max<int64_t>(0, target->second - next));
      }
      if (caught_up && lag == 0) return absl::OkStatus();
      if (stop_) break;
      if (targets.empty()) {  // Not assigned yet: wait for a round.
        const uint64_t round = rounds_;
        auto next_round = [this, round]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return rounds_ != round || stop_;
        };
        mu_.AwaitWithDeadline(absl::Condition(&next_round), deadline);
      }
    }
    absl::MutexLock lock(&mu_);
    return absl::DeadlineExceededError(fmt::format(
        "consumer group {} had not caught up after {}: {} partitions "
        "assigned, lag {} messages; last error: {}",
        state_.group(), absl::FormatDuration(timeout), partitions, lag,
        last_error_.ok() ? "none" : std::string(last_error_.message())));
  }

  absl::StatusOr<std::vector<ParkedStream>> ListParked(
      size_t max_count, std::string_view after_topic,
      std::string_view after_stream) const override {
    if (max_count == 0) {
      return absl::InvalidArgumentError("max_count must be at least 1");
    }
    ASSIGN_OR_RETURN(std::vector<ConsumerState::ParkedEntry> entries,
                     state_.ListParked(max_count, after_topic, after_stream));
    std::vector<ParkedStream> parked;
    parked.reserve(entries.size());
    for (const ConsumerState::ParkedEntry& entry : entries) {
      ParkedStream& stream = parked.emplace_back();
      stream.topic = entry.topic;
      stream.stream = entry.stream;
      stream.event_id = entry.record.event_id();
      stream.type = entry.record.type();
      stream.origin = {entry.topic, entry.record.partition(),
                       entry.record.offset()};
      stream.error = entry.record.error();
      stream.parked_at =
          absl::FromUnixMicros(entry.record.parked_at_unix_micros());
      stream.parked_events = entry.record.parked_events();
      stream.redrive_attempts = entry.record.redrive_attempts();
    }
    return parked;
  }

  absl::StatusOr<uint64_t> Redrive(std::string_view topic,
                                   std::string_view stream,
                                   absl::Duration timeout) override {
    auto request = std::make_shared<RedriveRequest>();
    request->topic = std::string(topic);
    request->stream = std::string(stream);
    {
      absl::MutexLock lock(&mu_);
      if (stop_) {
        return absl::CancelledError("the consumer is stopping; retry later");
      }
      redrives_.push_back(request);
    }
    source_->Wake();
    if (!request->done.WaitForNotificationWithTimeout(timeout)) {
      return absl::DeadlineExceededError(fmt::format(
          "the re-drive of stream '{}' from {} did not finish within {}; it "
          "goes on in the background (ListParked shows when it is done)",
          stream, topic, absl::FormatDuration(timeout)));
    }
    return request->result;
  }

 private:
  bool Stopping() const {
    absl::MutexLock lock(&mu_);
    return stop_;
  }

  // Waits up to `duration`; false when the consumer is stopping.
  bool WaitUnlessStopped(absl::Duration duration) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_), duration);
    return !stop_;
  }

  void SetState(ConsumerStatus::State state, absl::Status error) {
    absl::MutexLock lock(&mu_);
    state_code_ = state;
    last_error_ = std::move(error);
  }

  void Run() {
    std::vector<SourceMessage> messages;
    while (!Stopping()) {
      ServeRedrives();
      PublishDeadLetters();
      absl::Status status = source_->Poll(options_.poll_interval,
                                          options_.max_batch_events, messages);
      if (status.ok() && !messages.empty()) status = ProcessBatch(messages);
      if (status.ok()) {
        absl::MutexLock lock(&mu_);
        state_code_ = positions_.empty() ? ConsumerStatus::State::kStarting
                                         : ConsumerStatus::State::kConsuming;
        last_error_ = absl::OkStatus();
        ++rounds_;
        continue;
      }
      if (absl::IsCancelled(status)) break;  // Stopped in the middle.
      SetState(ConsumerStatus::State::kFailed, status);
      // Nothing of the batch committed: read it again from the stored
      // offsets once the cause (e.g. a full disk) may be gone.
      if (!WaitUnlessStopped(kRetryBackoff)) break;
      source_->Rewind();
    }
  }

  absl::Status ProcessBatch(const std::vector<SourceMessage>& messages) {
    rocksdb::WriteBatchWithIndex batch;
    BatchEffects effects;
    for (const SourceMessage& message : messages) {
      auto cursor_it = cursors_.find({message.topic, message.partition});
      if (cursor_it == cursors_.end()) continue;  // Not (or no longer) ours.
      auto [staged, inserted] = effects.cursors.try_emplace(
          {message.topic, message.partition}, cursor_it->second);
      PartitionCursor& cursor = staged->second;
      if (message.offset < cursor.next_offset) continue;  // Consumed before.
      RETURN_IF_ERROR(ProcessMessage(message, cursor, batch, effects));
      cursor.next_offset = message.offset + 1;
    }
    if (effects.cursors.empty()) return absl::OkStatus();
    for (const auto& [key, cursor] : effects.cursors) {
      state_.StageCursor(batch, key.first, key.second, cursor);
    }
    RETURN_IF_ERROR(store_.Write(*batch.GetWriteBatch()));
    std::vector<PartitionLag> committed;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [key, cursor] : effects.cursors) {
        cursors_[key] = cursor;
        positions_[key] = cursor.next_offset;
        committed.push_back({key.first, key.second, cursor.next_offset});
      }
      handled_ += effects.handled;
      duplicates_ += effects.duplicates;
      dead_lettered_ += effects.dead_lettered;
      parked_streams_ += effects.newly_parked;
    }
    source_->Committed(committed);
    if (effects.dead_lettered > 0) next_dead_letter_scan_ = absl::Now();
    return absl::OkStatus();
  }

  absl::Status ProcessMessage(const SourceMessage& message,
                              PartitionCursor& cursor,
                              rocksdb::WriteBatchWithIndex& batch,
                              BatchEffects& effects) {
    Envelope event;
    const bool parsed = event.ParseFromString(message.value);
    if (parsed && event.global_position() != 0 &&
        event.global_position() <= cursor.high_water) {
      ++effects.duplicates;  // A copy of an event applied before.
      return absl::OkStatus();
    }
    if (parsed) {
      cursor.high_water = std::max(cursor.high_water, event.global_position());
    }
    const std::string& stream =
        message.key.empty() && parsed ? event.stream() : message.key;
    const EventOrigin origin{message.topic, message.partition, message.offset};
    records::ConsumedMessage consumed;
    consumed.set_partition(message.partition);
    consumed.set_offset(message.offset);
    consumed.set_key(stream);
    consumed.set_value(message.value);

    if (AnyParked(effects)) {
      ASSIGN_OR_RETURN(std::optional<records::ParkedStreamRecord> parked,
                       state_.LoadParked(&batch, message.topic, stream));
      if (parked.has_value()) {  // Waits behind the failed event.
        parked->set_parked_events(parked->parked_events() + 1);
        state_.StageParked(batch, message.topic, stream, *parked);
        state_.StageParkedMessage(batch, message.topic, consumed);
        return absl::OkStatus();
      }
    }
    absl::Status handled =
        parsed ? HandleWithRetries(event, origin, batch)
               : absl::InvalidArgumentError(
                     "the message is not a serialized "
                     "crm.common.v1.EventEnvelope; the publisher wrote "
                     "something else to the topic");
    if (absl::IsCancelled(handled) && Stopping()) return handled;
    if (handled.ok()) {
      ++effects.handled;
      return absl::OkStatus();
    }
    // Dead-letter it and park its stream.
    records::ParkedStreamRecord record;
    record.set_event_id(parsed ? event.event_id() : "");
    record.set_type(parsed ? event.type() : "");
    record.set_partition(message.partition);
    record.set_offset(message.offset);
    record.set_error(handled.ToString());
    record.set_parked_at_unix_micros(absl::ToUnixMicros(absl::Now()));
    record.set_parked_events(1);
    state_.StageParked(batch, message.topic, stream, record);
    state_.StageParkedMessage(batch, message.topic, consumed);
    if (dead_letters_ != nullptr) {
      records::DeadLetterRecord letter;
      letter.set_source_topic(message.topic);
      *letter.mutable_message() = consumed;
      letter.set_error(record.error());
      letter.set_event_id(record.event_id());
      letter.set_type(record.type());
      state_.StageDeadLetter(batch, letter);
    }
    ++effects.dead_lettered;
    ++effects.newly_parked;
    return absl::OkStatus();
  }

  bool AnyParked(const BatchEffects& effects) {
    if (effects.newly_parked > 0) return true;
    absl::MutexLock lock(&mu_);
    return parked_streams_ > 0;
  }

  // The handler's status after up to max_attempts attempts; CANCELLED when
  // the consumer stops while it waits to retry. A failed attempt's writes
  // are rolled back.
  absl::Status HandleWithRetries(const Envelope& event,
                                 const EventOrigin& origin,
                                 rocksdb::WriteBatchWithIndex& batch) {
    BatchWriter writer(state_.db(), batch);
    absl::Duration backoff = options_.retry_backoff;
    absl::Status status;
    for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
      batch.SetSavePoint();
      status = handler_.Handle(event, origin, writer);
      if (status.ok()) {
        batch.PopSavePoint().PermitUncheckedError();
        return status;
      }
      batch.RollbackToSavePoint().PermitUncheckedError();
      if (attempt < options_.max_attempts) {
        if (!WaitUnlessStopped(backoff)) {
          return absl::CancelledError("the consumer is stopping");
        }
        backoff *= 2;
      }
    }
    return status;
  }

  void ServeRedrives() {
    while (true) {
      std::shared_ptr<RedriveRequest> request;
      {
        absl::MutexLock lock(&mu_);
        if (redrives_.empty()) return;
        request = redrives_.front();
        redrives_.pop_front();
      }
      request->result = RedriveStream(request->topic, request->stream);
      request->done.Notify();
    }
  }

  absl::StatusOr<uint64_t> RedriveStream(const std::string& topic,
                                         const std::string& stream) {
    ASSIGN_OR_RETURN(std::optional<records::ParkedStreamRecord> parked,
                     state_.LoadParked(nullptr, topic, stream));
    if (!parked.has_value()) {
      return absl::NotFoundError(
          fmt::format("stream '{}' from {} is not parked in consumer group {}; "
                      "ListParked shows the parked streams",
                      stream, topic, state_.group()));
    }
    uint64_t applied = 0;
    while (true) {
      ASSIGN_OR_RETURN(
          std::vector<records::ConsumedMessage> messages,
          state_.LoadParkedMessages(topic, stream, options_.max_batch_events));
      rocksdb::WriteBatchWithIndex batch;
      if (messages.empty()) {
        state_.StageUnparked(batch, topic, stream);
        RETURN_IF_ERROR(store_.Write(*batch.GetWriteBatch()));
        absl::MutexLock lock(&mu_);
        --parked_streams_;
        return applied;
      }
      uint64_t applied_now = 0;
      absl::Status failed;
      const records::ConsumedMessage* failed_message = nullptr;
      Envelope event;
      for (const records::ConsumedMessage& message : messages) {
        const bool parsed = event.ParseFromString(message.value());
        failed =
            parsed ? HandleWithRetries(
                         event, {topic, message.partition(), message.offset()},
                         batch)
                   : absl::InvalidArgumentError(
                         "the message is not a serialized "
                         "crm.common.v1.EventEnvelope");
        if (!failed.ok()) {
          failed_message = &message;
          break;
        }
        state_.StageParkedMessageDone(batch, topic, message);
        ++applied_now;
      }
      if (absl::IsCancelled(failed) && Stopping()) return failed;
      parked->set_parked_events(parked->parked_events() - applied_now);
      if (failed_message != nullptr) {
        parked->set_event_id(event.event_id());
        parked->set_type(event.type());
        parked->set_partition(failed_message->partition());
        parked->set_offset(failed_message->offset());
        parked->set_error(failed.ToString());
        parked->set_redrive_attempts(parked->redrive_attempts() + 1);
      }
      state_.StageParked(batch, topic, stream, *parked);
      RETURN_IF_ERROR(store_.Write(*batch.GetWriteBatch()));
      applied += applied_now;
      {
        absl::MutexLock lock(&mu_);
        handled_ += applied_now;
      }
      if (failed_message != nullptr) {
        return absl::FailedPreconditionError(fmt::format(
            "re-driving stream '{}' from {}: the event at partition {} "
            "offset {} (type {}) still fails: {}; {} events were applied, it "
            "and {} behind it stay parked; fix the cause and re-drive again",
            stream, topic, failed_message->partition(),
            failed_message->offset(), parked->type(),
            std::string(failed.message()), applied,
            parked->parked_events() - 1));
      }
    }
  }

  void PublishDeadLetters() {
    if (dead_letters_ == nullptr) return;
    std::vector<std::string> delivered = dead_letters_->TakeDelivered();
    if (!delivered.empty()) {
      rocksdb::WriteBatch batch;
      for (const std::string& key : delivered) {
        batch.Delete(&state_.family(), key);
      }
      // On failure the letters are published again later (at least once).
      store_.Write(batch).IgnoreError();
    }
    if (absl::Now() < next_dead_letter_scan_ ||
        dead_letters_->in_flight() > 0) {
      return;
    }
    next_dead_letter_scan_ = absl::Now() + kDeadLetterRescan;
    absl::StatusOr<
        std::vector<std::pair<std::string, records::DeadLetterRecord>>>
        letters = state_.LoadDeadLetters(kDeadLetterBatch);
    if (!letters.ok()) {
      SetState(ConsumerStatus::State::kFailed, letters.status());
      return;
    }
    dead_letters_->Publish(*letters);
    absl::MutexLock lock(&mu_);
    dead_letters_unpublished_ = letters->size();
    if (letters->size() == kDeadLetterBatch) next_dead_letter_scan_ = {};
  }

  eventstore::EventStore& store_;
  EventHandler& handler_;
  const ConsumerOptions options_;
  const ConsumerState state_;

  // Owned by the consumer thread (and Init / the destructor).
  std::unique_ptr<MessageSource> source_;
  std::unique_ptr<DeadLetterPublisher> dead_letters_;
  std::map<PartitionKey, PartitionCursor> cursors_;  // Committed.
  absl::Time next_dead_letter_scan_ = absl::InfinitePast();
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  ConsumerStatus::State state_code_ ABSL_GUARDED_BY(mu_) =
      ConsumerStatus::State::kStarting;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  std::map<PartitionKey, int64_t> positions_ ABSL_GUARDED_BY(mu_);
  uint64_t rounds_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t handled_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t duplicates_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dead_lettered_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t parked_streams_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dead_letters_unpublished_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::shared_ptr<RedriveRequest>> redrives_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::string_view ConsumerStateName(ConsumerStatus::State state) {
  switch (state) {
    case ConsumerStatus::State::kStarting:
      return "starting";
    case ConsumerStatus::State::kConsuming:
      return "consuming";
    case ConsumerStatus::State::kFailed:
      return "failed";
  }
  return "unknown";
}

absl::Status ValidateConsumerOptions(const ConsumerOptions& options) {
  if (!ValidName(options.service, /*allow_underscore=*/false)) {
    return absl::InvalidArgumentError(fmt::format(
        "ConsumerOptions::service '{}' is not a service name; use 1 to 64 "
        "lower-case letters, digits or '-', such as \"contact\"",
        options.service));
  }
  if (!ValidName(options.purpose, /*allow_underscore=*/true)) {
    return absl::InvalidArgumentError(fmt::format(
        "ConsumerOptions::purpose '{}' is not valid; use 1 to 64 lower-case "
        "letters, digits, '-' or '_', such as \"timeline\"",
        options.purpose));
  }
  if (options.sources.empty()) {
    return absl::InvalidArgumentError(
        "ConsumerOptions::sources is empty; name the services whose events "
        "to consume, such as {\"sales\"}");
  }
  std::set<std::string_view> seen;
  for (const std::string& source : options.sources) {
    if (!ValidName(source, /*allow_underscore=*/false)) {
      return absl::InvalidArgumentError(fmt::format(
          "ConsumerOptions::sources has '{}', which is not a service name",
          source));
    }
    if (!seen.insert(source).second) {
      return absl::InvalidArgumentError(fmt::format(
          "ConsumerOptions::sources names '{}' twice; name it once", source));
    }
  }
  if (options.max_attempts < 1 || options.max_batch_events == 0 ||
      options.retry_backoff < absl::ZeroDuration() ||
      options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "ConsumerOptions: max_attempts and max_batch_events must be at least "
        "1, retry_backoff at least 0 and poll_interval above 0");
  }
  return absl::OkStatus();
}

std::string ConsumerGroup(const ConsumerOptions& options) {
  return fmt::format("crm.{}.{}", options.service, options.purpose);
}

absl::StatusOr<std::unique_ptr<Consumer>> StartConsumerCore(
    eventstore::EventStore& store, EventHandler& handler,
    ConsumerOptions options, const SourceFactory& make_source,
    const KafkaConfig* dead_letter_config) {
  RETURN_IF_ERROR(ValidateConsumerOptions(options));
  ASSIGN_OR_RETURN(ConsumerState state,
                   ConsumerState::Open(store, ConsumerGroup(options)));
  auto consumer = std::make_unique<ConsumerImpl>(
      store, handler, std::move(options), std::move(state));
  RETURN_IF_ERROR(consumer->Init(make_source, dead_letter_config));
  return consumer;
}

}  // namespace crm::bus
