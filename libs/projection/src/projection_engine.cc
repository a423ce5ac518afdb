// ProjectionEngine: one runner thread per projection, following the log from
// the checkpoint of the version it builds (see projection.h). Storage:
//
//   column family projection_catalog:
//     "serving/<name>"              -> the serving version, decimal text
//     "checkpoint/<name>/<version>" -> applied-up-to global position, u64 BE
//   column family proj_<name>_v<version>: that version's state
//
// A checkpoint commits in the same WriteBatch as the state it covers.
#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "crm/base/status_macros.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/projection.h"
#include "fmt/format.h"
#include "projection_storage.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace crm::projection {
namespace {

using eventstore::EventStore;
using eventstore::Subscription;

// One version of a projection with its column family. Shared by the engine
// and the views reading it, so a retired version is dropped only once no
// view uses it.
struct Version {
  uint32_t number = 0;
  std::string family_name;
  rocksdb::ColumnFamilyHandle* family = nullptr;  // Owned by the store.
  std::atomic<uint64_t> position{0};
};

class View final : public ProjectionView {
 public:
  View(rocksdb::DB& db, std::shared_ptr<const Version> version,
       const rocksdb::Snapshot* snapshot, uint64_t position)
      : db_(db),
        version_(std::move(version)),
        snapshot_(snapshot),
        position_(position) {}
  ~View() override { db_.ReleaseSnapshot(snapshot_); }

  absl::StatusOr<std::optional<std::string>> Get(
      std::string_view key) const override {
    rocksdb::ReadOptions read_options;
    read_options.snapshot = snapshot_;
    std::string value;
    rocksdb::Status status =
        db_.Get(read_options, version_->family, key, &value);
    if (status.IsNotFound()) return std::nullopt;
    RETURN_IF_ERROR(FromRocksDb(status, "reading a projection"));
    return value;
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(
      std::string_view prefix, std::string_view start_after,
      size_t max_count) const override {
    if (max_count == 0) {
      return absl::InvalidArgumentError("max_count must be at least 1");
    }
    rocksdb::ReadOptions read_options;
    read_options.snapshot = snapshot_;
    std::unique_ptr<rocksdb::Iterator> it(
        db_.NewIterator(read_options, version_->family));
    std::vector<std::pair<std::string, std::string>> entries;
    const std::string start =
        std::max(std::string(prefix), std::string(start_after));
    for (it->Seek(start); it->Valid() && entries.size() < max_count;
         it->Next()) {
      const std::string_view key = it->key().ToStringView();
      if (key.substr(0, prefix.size()) != prefix) break;
      if (!start_after.empty() && key == start_after) continue;
      entries.emplace_back(std::string(key), it->value().ToString());
    }
    RETURN_IF_ERROR(FromRocksDb(it->status(), "scanning a projection"));
    return entries;
  }

  uint32_t version() const override { return version_->number; }
  uint64_t position() const override { return position_; }

 private:
  rocksdb::DB& db_;
  std::shared_ptr<const Version> version_;
  const rocksdb::Snapshot* snapshot_;
  uint64_t position_;
};

class Engine final : public ProjectionEngine {
 public:
  Engine(EventStore& store, Options options)
      : store_(store), db_(store.db()), options_(options) {}

  ~Engine() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      for (auto& [name, entry] : entries_) {
        if (entry.subscription != nullptr) entry.subscription->Cancel();
      }
    }
    for (auto& [name, entry] : entries_) {
      if (entry.runner.joinable()) entry.runner.join();
    }
    DropRetired();
  }

  absl::Status Init(std::vector<std::unique_ptr<Projection>> projections);

  absl::StatusOr<std::shared_ptr<const ProjectionView>> View(
      std::string_view name) const override;
  absl::Status WaitForPosition(std::string_view name, uint64_t position,
                               absl::Duration timeout) const override;
  std::vector<ProjectionStatus> Status() const override;

 private:
  struct Entry {
    std::unique_ptr<Projection> projection;
    std::shared_ptr<Version> serving;  // Null until a version has caught up.
    std::shared_ptr<Version> target;   // The code's version, being applied.
    ProjectionState state = ProjectionState::kBuilding;
    absl::Status error;
    Subscription* subscription = nullptr;  // Owned by the runner.
    std::thread runner;
  };

  absl::StatusOr<std::shared_ptr<Version>> OpenVersion(const std::string& name,
                                                       uint32_t number);
  void Run(Entry& entry);
  absl::Status ApplyBatch(Entry& entry, const std::vector<Envelope>& batch);
  // Serves the target once it has caught up with the log.
  absl::Status MaybeServe(Entry& entry);
  void Fail(Entry& entry, absl::Status error);
  // Drops retired versions no view uses any more (the I/O outside mu_).
  void DropRetired() ABSL_LOCKS_EXCLUDED(mu_);
  const Entry* Find(std::string_view name) const;

  EventStore& store_;
  rocksdb::DB& db_;
  const Options options_;
  rocksdb::ColumnFamilyHandle* catalog_ = nullptr;

  mutable absl::Mutex mu_;
  // Filled by Init before any runner starts; then only the fields of each
  // entry change, under mu_ (except `projection` and `runner`).
  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<std::shared_ptr<Version>> retired_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

absl::StatusOr<std::shared_ptr<Version>> Engine::OpenVersion(
    const std::string& name, uint32_t number) {
  auto version = std::make_shared<Version>();
  version->number = number;
  version->family_name = FamilyName(name, number);
  ASSIGN_OR_RETURN(version->family,
                   store_.CreateColumnFamily(version->family_name));
  ASSIGN_OR_RETURN(uint64_t position,
                   ReadCheckpoint(db_, *catalog_, name, number));
  version->position = position;
  return version;
}

absl::Status Engine::Init(
    std::vector<std::unique_ptr<Projection>> projections) {
  ASSIGN_OR_RETURN(catalog_, store_.CreateColumnFamily(kCatalogFamily));
  for (std::unique_ptr<Projection>& projection : projections) {
    const std::string name = projection->name();
    RETURN_IF_ERROR(ValidateProjection(name, projection->version()));
    if (entries_.contains(name)) {
      return absl::InvalidArgumentError(fmt::format(
          "two projections are named '{}'; give each a unique name", name));
    }
    Entry& entry = entries_[name];
    entry.projection = std::move(projection);
  }
  for (auto& [name, entry] : entries_) {
    const uint32_t target = entry.projection->version();
    ASSIGN_OR_RETURN(entry.target, OpenVersion(name, target));
    ASSIGN_OR_RETURN(std::optional<uint32_t> serving,
                     ReadServingVersion(db_, *catalog_, name));
    if (serving == target) {
      entry.serving = entry.target;
      entry.state = ProjectionState::kCatchingUp;
    } else if (serving.has_value() &&
               store_.ColumnFamily(FamilyName(name, *serving)).ok()) {
      // The old version keeps serving, frozen, until the new one caught up.
      ASSIGN_OR_RETURN(entry.serving, OpenVersion(name, *serving));
    }
    // Versions that neither serve nor build are left from an earlier swap.
    ASSIGN_OR_RETURN(std::vector<uint32_t> on_disk,
                     ListVersionFamilies(db_, name));
    for (uint32_t number : on_disk) {
      if (number == target ||
          (entry.serving && number == entry.serving->number)) {
        continue;
      }
      RETURN_IF_ERROR(store_.DropColumnFamily(FamilyName(name, number)));
    }
  }
  for (auto& [name, entry] : entries_) {
    Entry* runner_entry = &entry;
    entry.runner = std::thread([this, runner_entry] { Run(*runner_entry); });
  }
  return absl::OkStatus();
}

void Engine::Run(Entry& entry) {
  const uint64_t from = entry.target->position + 1;
  absl::StatusOr<std::unique_ptr<Subscription>> subscription =
      store_.SubscribeToAll(from, {.max_batch_events = options_.batch_events});
  if (!subscription.ok()) return Fail(entry, subscription.status());
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    entry.subscription = subscription->get();
  }
  std::vector<Envelope> batch;
  absl::Status status = MaybeServe(entry);
  while (status.ok()) {
    status = (*subscription)->NextInto(options_.poll_interval, batch);
    if (!status.ok()) break;
    if (!batch.empty()) status = ApplyBatch(entry, batch);
    if (status.ok()) status = MaybeServe(entry);
  }
  {
    absl::MutexLock lock(&mu_);
    entry.subscription = nullptr;
    if (stopping_) return;
  }
  Fail(entry, status);
}

absl::Status Engine::ApplyBatch(Entry& entry,
                                const std::vector<Envelope>& batch) {
  Version& target = *entry.target;
  ProjectionWriter writer(db_, *target.family);
  for (const Envelope& event : batch) {
    absl::Status applied = entry.projection->Apply(event, writer);
    if (!applied.ok()) {
      return absl::Status(
          applied.code(),
          fmt::format("projection '{}' version {} failed to apply the event "
                      "at global position {} (type {}): {}; fix the "
                      "projection and restart",
                      entry.projection->name(), target.number,
                      event.global_position(), event.type(),
                      std::string(applied.message())));
    }
  }
  // Only the last write of each key reaches RocksDB, in key order: a batch
  // of events often updates the same (hot) keys many times, memtable
  // inserts are most of a rebuild's cost, and sorted inserts are the
  // cheapest.
  rocksdb::WriteBatch coalesced;
  for (const auto& [key, value] : writer.writes()) {
    if (value.has_value()) {
      coalesced.Put(target.family, key, *value);
    } else {
      coalesced.Delete(target.family, key);
    }
  }
  const uint64_t position = batch.back().global_position();
  coalesced.Put(catalog_,
                CheckpointKey(entry.projection->name(), target.number),
                EncodeCheckpoint(position));
  RETURN_IF_ERROR(store_.Write(coalesced));
  target.position = position;
  // Releasing mu_ re-evaluates the conditions of WaitForPosition.
  absl::MutexLock lock(&mu_);
  return absl::OkStatus();
}

absl::Status Engine::MaybeServe(Entry& entry) {
  const uint64_t log_position = store_.LastPosition();
  const bool caught_up = entry.target->position >= log_position;
  DropRetired();
  {
    absl::MutexLock lock(&mu_);
    if (entry.serving == entry.target) {
      entry.state =
          caught_up ? ProjectionState::kLive : ProjectionState::kCatchingUp;
      return absl::OkStatus();
    }
  }
  if (!caught_up) return absl::OkStatus();
  // The swap: durable first, then visible to new views at once.
  rocksdb::WriteBatch batch;
  batch.Put(catalog_, ServingKey(entry.projection->name()),
            std::to_string(entry.target->number));
  RETURN_IF_ERROR(store_.Write(batch));
  {
    absl::MutexLock lock(&mu_);
    if (entry.serving != nullptr) retired_.push_back(std::move(entry.serving));
    entry.serving = entry.target;
    entry.state = ProjectionState::kLive;
  }
  DropRetired();
  return absl::OkStatus();
}

void Engine::Fail(Entry& entry, absl::Status error) {
  absl::MutexLock lock(&mu_);
  entry.state = ProjectionState::kFailed;
  entry.error = std::move(error);
}

void Engine::DropRetired() {
  std::vector<std::shared_ptr<Version>> unused;
  {
    absl::MutexLock lock(&mu_);
    // A retired version is no entry's `serving` any more, so no new view can
    // take it: once only retired_ holds it, it stays unused.
    std::erase_if(retired_, [&unused](std::shared_ptr<Version>& version) {
      if (version.use_count() > 1) return false;  // A view still reads it.
      unused.push_back(std::move(version));
      return true;
    });
  }
  for (const std::shared_ptr<Version>& version : unused) {
    // A failed drop leaves the family for the next start to drop.
    store_.DropColumnFamily(version->family_name).IgnoreError();
  }
}

const Engine::Entry* Engine::Find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

absl::StatusOr<std::shared_ptr<const ProjectionView>> Engine::View(
    std::string_view name) const {
  const Entry* entry = Find(name);
  if (entry == nullptr) {
    return absl::NotFoundError(
        fmt::format("no projection is named '{}'", name));
  }
  std::shared_ptr<const Version> serving;
  {
    absl::MutexLock lock(&mu_);
    serving = entry->serving;
  }
  if (serving == nullptr) {
    return absl::UnavailableError(fmt::format(
        "projection '{}' version {} is being built (at global position {} of "
        "{}); retry when it has caught up",
        name, entry->target->number, entry->target->position.load(),
        store_.LastPosition()));
  }
  const rocksdb::Snapshot* snapshot = db_.GetSnapshot();
  absl::StatusOr<uint64_t> position = ReadCheckpoint(
      db_, *catalog_, std::string(name), serving->number, snapshot);
  if (!position.ok()) {
    db_.ReleaseSnapshot(snapshot);
    return position.status();
  }
  return std::make_shared<const class View>(db_, std::move(serving), snapshot,
                                            *position);
}

absl::Status Engine::WaitForPosition(std::string_view name, uint64_t position,
                                     absl::Duration timeout) const {
  const Entry* entry = Find(name);
  if (entry == nullptr) {
    return absl::NotFoundError(
        fmt::format("no projection is named '{}'", name));
  }
  absl::MutexLock lock(&mu_);
  auto reached = [entry, position]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return entry->state == ProjectionState::kFailed ||
           (entry->serving != nullptr && entry->serving->position >= position);
  };
  mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  if (entry->state == ProjectionState::kFailed) {
    return absl::FailedPreconditionError(
        fmt::format("projection '{}' has failed: {}", name,
                    std::string(entry->error.message())));
  }
  if (entry->serving == nullptr || entry->serving->position < position) {
    return absl::DeadlineExceededError(fmt::format(
        "projection '{}' had not reached global position {} after {}", name,
        position, absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

std::vector<ProjectionStatus> Engine::Status() const {
  const uint64_t log_position = store_.LastPosition();
  std::vector<ProjectionStatus> statuses;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, entry] : entries_) {
    ProjectionStatus& status = statuses.emplace_back();
    status.name = name;
    if (entry.serving != nullptr) {
      status.serving_version = entry.serving->number;
      status.serving_position = entry.serving->position;
    }
    status.target_version = entry.target->number;
    status.target_position = entry.target->position;
    status.rebuilding = entry.serving != entry.target;
    status.state = entry.state;
    status.log_position = log_position;
    status.lag = log_position - std::min(log_position, status.target_position);
    status.error = entry.error;
  }
  return statuses;
}

}  // namespace

std::string_view ProjectionStateName(ProjectionState state) {
  switch (state) {
    case ProjectionState::kBuilding:
      return "building";
    case ProjectionState::kCatchingUp:
      return "catching_up";
    case ProjectionState::kLive:
      return "live";
    case ProjectionState::kFailed:
      return "failed";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<ProjectionEngine>> ProjectionEngine::Start(
    eventstore::EventStore& store,
    std::vector<std::unique_ptr<Projection>> projections, Options options) {
  if (options.batch_events == 0) {
    return absl::InvalidArgumentError(
        "ProjectionEngine::Options.batch_events must be at least 1");
  }
  auto engine = std::make_unique<Engine>(store, options);
  RETURN_IF_ERROR(engine->Init(std::move(projections)));
  return engine;
}

}  // namespace crm::projection
