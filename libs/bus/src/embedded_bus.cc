// The embedded bus: services in one process, no Kafka. A consumer reads the
// publishers' event stores directly; each source service is one partition
// (0) of the topic crm.<service>.events.v1 whose offsets are global
// positions, so the consumer core treats it exactly like Kafka.
#include <map>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "consumer_core.h"
#include "crm/base/status_macros.h"
#include "crm/bus/bus.h"
#include "fmt/format.h"

namespace crm::bus {
namespace {

class EmbeddedBus;

class EmbeddedPublisher final : public Publisher {
 public:
  EmbeddedPublisher(EmbeddedBus& bus, std::string service,
                    eventstore::EventStore& store)
      : bus_(bus), service_(std::move(service)), store_(store) {}
  ~EmbeddedPublisher() override;

  // Consumers read the store itself: everything committed is published.
  absl::Status Flush(absl::Duration) override { return absl::OkStatus(); }
  RelayStatus status() const override {
    RelayStatus status;
    status.cursor = status.last_position = store_.LastPosition();
    status.connected = true;
    return status;
  }

 private:
  EmbeddedBus& bus_;
  const std::string service_;
  eventstore::EventStore& store_;
};

class EmbeddedBus final : public Bus {
 public:
  absl::StatusOr<std::unique_ptr<Publisher>> StartPublisher(
      eventstore::EventStore& store, std::string service) override {
    absl::MutexLock lock(&mu_);
    if (!publishers_.try_emplace(service, &store).second) {
      return absl::AlreadyExistsError(fmt::format(
          "service '{}' already has a publisher on this embedded bus; start "
          "one per service",
          service));
    }
    return std::make_unique<EmbeddedPublisher>(*this, std::move(service),
                                               store);
  }

  absl::StatusOr<std::unique_ptr<Consumer>> StartConsumer(
      eventstore::EventStore& store, EventHandler& handler,
      ConsumerOptions options) override;

  std::shared_ptr<projection::EventSource> ProjectionSource(
      std::string service) override;

  std::string_view kind() const override { return "embedded"; }

  eventstore::EventStore* Find(const std::string& service) const {
    absl::MutexLock lock(&mu_);
    auto it = publishers_.find(service);
    return it == publishers_.end() ? nullptr : it->second;
  }

  void Remove(const std::string& service) {
    absl::MutexLock lock(&mu_);
    publishers_.erase(service);
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, eventstore::EventStore*> publishers_
      ABSL_GUARDED_BY(mu_);
};

EmbeddedPublisher::~EmbeddedPublisher() { bus_.Remove(service_); }

// One source per followed service; its subscription opens once the service
// has a publisher.
class EmbeddedSource final : public MessageSource {
 public:
  EmbeddedSource(const EmbeddedBus& bus,
                 const std::vector<std::string>& services,
                 SourceListener& listener)
      : bus_(bus), listener_(listener) {
    for (const std::string& service : services) {
      Feed& feed = feeds_.emplace_back();
      feed.service = service;
      feed.topic = fmt::format("crm.{}.events.v1", service);
    }
  }

  ~EmbeddedSource() override {
    for (Feed& feed : feeds_) {
      if (feed.subscription != nullptr) {
        listener_.Revoked(feed.topic, 0);
      }
    }
  }

  absl::Status Poll(absl::Duration timeout, size_t max_count,
                    std::vector<SourceMessage>& out) override {
    out.clear();
    RETURN_IF_ERROR(OpenFeeds(max_count));
    // One pass without waiting, then wait on the first open feed.
    for (int pass = 0; pass < 2 && out.empty(); ++pass) {
      for (Feed& feed : feeds_) {
        if (feed.subscription == nullptr || out.size() >= max_count) continue;
        const absl::Duration wait = pass == 0 ? absl::ZeroDuration() : timeout;
        RETURN_IF_ERROR(feed.subscription->NextInto(wait, events_));
        for (const Envelope& event : events_) {
          SourceMessage& message = out.emplace_back();
          message.topic = feed.topic;
          message.offset = static_cast<int64_t>(event.global_position());
          message.key = event.stream();
          event.SerializeToString(&message.value);
        }
        if (pass == 1) break;
      }
      if (pass == 1 && !AnyOpen()) {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&woken_), timeout);
        woken_ = false;
      }
    }
    return absl::OkStatus();
  }

  void Rewind() override {
    for (Feed& feed : feeds_) feed.subscription.reset();
  }

  void Committed(const std::vector<PartitionLag>&) override {}

  int64_t HighWatermark(const std::string& topic, int32_t partition,
                        bool /*fresh*/) const override {
    if (partition != 0) return -1;
    absl::MutexLock lock(&mu_);
    for (const Feed& feed : feeds_) {
      if (feed.topic == topic && feed.store != nullptr) {
        return static_cast<int64_t>(feed.store->LastPosition()) + 1;
      }
    }
    return -1;
  }

  absl::Status last_error() const override { return absl::OkStatus(); }

  void Wake() override {
    absl::MutexLock lock(&mu_);
    woken_ = true;
  }

 private:
  struct Feed {
    std::string service;
    std::string topic;
    eventstore::EventStore* store = nullptr;  // Guarded by mu_ (written once).
    std::unique_ptr<eventstore::Subscription> subscription;
  };

  bool AnyOpen() const {
    for (const Feed& feed : feeds_) {
      if (feed.subscription != nullptr) return true;
    }
    return false;
  }

  absl::Status OpenFeeds(size_t max_count) {
    for (Feed& feed : feeds_) {
      if (feed.subscription != nullptr) continue;
      eventstore::EventStore* store = bus_.Find(feed.service);
      if (store == nullptr) continue;  // Its publisher has not started yet.
      {
        absl::MutexLock lock(&mu_);
        feed.store = store;
      }
      ASSIGN_OR_RETURN(int64_t offset, listener_.StartOffset(feed.topic, 0));
      ASSIGN_OR_RETURN(feed.subscription,
                       store->SubscribeToAll(
                           static_cast<uint64_t>(std::max<int64_t>(offset, 1)),
                           {.max_batch_events = max_count}));
    }
    return absl::OkStatus();
  }

  const EmbeddedBus& bus_;
  SourceListener& listener_;
  std::vector<Feed> feeds_;
  std::vector<Envelope> events_;

  mutable absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
};

// The log of the store publishing as `service`, once it publishes.
class PublisherLogSource final : public projection::EventSource {
 public:
  PublisherLogSource(const EmbeddedBus& bus, std::string service)
      : bus_(bus), service_(std::move(service)) {}

  absl::StatusOr<std::unique_ptr<projection::EventFeed>> Open(
      std::string_view checkpoint) override {
    absl::MutexLock lock(&mu_);
    if (log_ == nullptr) {
      eventstore::EventStore* store = bus_.Find(service_);
      if (store == nullptr) {
        return absl::UnavailableError(fmt::format(
            "service '{}' has not started publishing on the embedded bus yet",
            service_));
      }
      log_ = projection::LocalLogSource(*store);
    }
    return log_->Open(checkpoint);
  }

  std::string Describe() const override {
    return fmt::format("the log of service '{}' (embedded bus)", service_);
  }

 private:
  const EmbeddedBus& bus_;
  const std::string service_;
  absl::Mutex mu_;
  std::unique_ptr<projection::EventSource> log_ ABSL_GUARDED_BY(mu_);
};

std::shared_ptr<projection::EventSource> EmbeddedBus::ProjectionSource(
    std::string service) {
  return std::make_shared<PublisherLogSource>(*this, std::move(service));
}

absl::StatusOr<std::unique_ptr<Consumer>> EmbeddedBus::StartConsumer(
    eventstore::EventStore& store, EventHandler& handler,
    ConsumerOptions options) {
  RETURN_IF_ERROR(ValidateConsumerOptions(options));
  const std::vector<std::string> sources = options.sources;
  return StartConsumerCore(
      store, handler, std::move(options),
      [&](SourceListener& listener)
          -> absl::StatusOr<std::unique_ptr<MessageSource>> {
        return std::make_unique<EmbeddedSource>(*this, sources, listener);
      },
      /*dead_letter_config=*/nullptr);
}

}  // namespace

std::unique_ptr<Bus> NewEmbeddedBus() {
  return std::make_unique<EmbeddedBus>();
}

}  // namespace crm::bus
