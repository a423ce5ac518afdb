// ProjectionEngine: runner threads, each following the source for the
// projection versions at one checkpoint (see projection.h and "Runners" in
// the README). Storage:
//
//   column family projection_catalog:
//     "serving/<name>"              -> the serving version, decimal text
//     "checkpoint/<name>/<version>" -> the source's opaque checkpoint (for
//                                      the local log: global position, u64 BE)
//     "position/<name>/<version>"   -> the source position the state
//                                      reflects, u64 BE (absent in stores
//                                      written before sources were
//                                      pluggable: then the checkpoint is it)
//   column family proj_<name>_v<version>: that version's state
//
// A checkpoint and position commit in the same WriteBatch as the state they
// cover.
#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/cleanup/cleanup.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "crm/base/status_macros.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/event_feed.h"
#include "crm/projection/projection.h"
#include "fmt/format.h"
#include "projection_storage.h"
#include "read_ahead_feed.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "staged_writes.h"

namespace crm::projection {
namespace {

using eventstore::EventStore;

constexpr absl::Duration kFirstRetryDelay = absl::Milliseconds(10);

// One version of a projection with its column family. Shared by the engine
// and the views reading it, so a retired version is dropped only once no
// view uses it.
struct Version {
  uint32_t number = 0;
  std::string family_name;
  rocksdb::ColumnFamilyHandle* family = nullptr;  // Owned by the store.
  // The source position of the committed state; written under the engine's
  // mutex (WaitForPosition waits on it).
  std::atomic<uint64_t> position{0};
  // The committed checkpoint. Read at start, then only by the runner.
  std::string checkpoint;
};

// The projection names that live engines run, per store: two engines on one
// store must not run the same projection.
class NameRegistry {
 public:
  static NameRegistry& Get() {
    static NameRegistry* registry = new NameRegistry();
    return *registry;
  }
  absl::Status Claim(const rocksdb::DB* db, const std::string& name) {
    absl::MutexLock lock(&mu_);
    if (!claimed_.emplace(db, name).second) {
      return absl::FailedPreconditionError(fmt::format(
          "projection '{}' already runs in another engine on this store; "
          "give each projection of a store a unique name",
          name));
    }
    return absl::OkStatus();
  }
  void Release(const rocksdb::DB* db, const std::string& name) {
    absl::MutexLock lock(&mu_);
    claimed_.erase({db, name});
  }

 private:
  absl::Mutex mu_;
  std::set<std::pair<const rocksdb::DB*, std::string>> claimed_
      ABSL_GUARDED_BY(mu_);
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

// Reads of at least this many events are applied to a runner's versions in
// parallel: catching up, rebuilding and bulk writes. Smaller ones (the
// live load, a few events per read) are applied on the runner's thread,
// where waking helpers would cost more than they save.
constexpr size_t kParallelApplyEvents = 256;

// Helper threads that run the items of one job at a time together with the
// calling thread.
class ApplyCrew {
 public:
  explicit ApplyCrew(size_t helpers) {
    for (size_t i = 0; i < helpers; ++i) {
      threads_.emplace_back([this] { Help(); });
    }
  }
  ~ApplyCrew() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (std::thread& thread : threads_) thread.join();
  }

  // Runs work(0) .. work(count - 1), each once, on the helpers and the
  // calling thread; returns when all have returned. One caller at a time.
  void Run(size_t count, absl::FunctionRef<void(size_t)> work) {
    absl::MutexLock lock(&mu_);
    work_ = &work;
    count_ = count;
    next_ = 0;
    done_ = 0;
    ++job_;
    TakeItems();
    auto finished = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return done_ == count_;
    };
    mu_.Await(absl::Condition(&finished));
    work_ = nullptr;
  }

 private:
  void Help() {
    absl::MutexLock lock(&mu_);
    uint64_t seen = 0;
    for (;;) {
      auto woken = [this, &seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (job_ != seen && work_ != nullptr);
      };
      mu_.Await(absl::Condition(&woken));
      if (stopping_) return;
      seen = job_;
      TakeItems();
    }
  }

  // Runs the job's items not taken yet, one at a time, outside the lock.
  void TakeItems() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (next_ < count_) {
      const size_t item = next_++;
      absl::FunctionRef<void(size_t)>& work = *work_;
      mu_.Unlock();
      work(item);
      mu_.Lock();
      ++done_;
    }
  }

  absl::Mutex mu_;
  absl::FunctionRef<void(size_t)>* work_ ABSL_GUARDED_BY(mu_) = nullptr;
  size_t count_ ABSL_GUARDED_BY(mu_) = 0;
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
  size_t done_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t job_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

class Engine final : public ProjectionEngine {
 public:
  Engine(EventStore& store, Options options)
      : store_(store),
        db_(store.db()),
        options_(std::move(options)),
        source_(options_.source != nullptr
                    ? options_.source
                    : std::shared_ptr<EventSource>(LocalLogSource(store))),
        source_name_(source_->Describe()) {}

  ~Engine() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      for (const std::unique_ptr<Runner>& runner : runners_) {
        if (runner->feed != nullptr) runner->feed->Cancel();
      }
    }
    for (const std::unique_ptr<Runner>& runner : runners_) {
      if (runner->thread.joinable()) runner->thread.join();
    }
    DropRetired();
    for (const std::string& name : claimed_) {
      NameRegistry::Get().Release(&db_, name);
    }
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
    uint64_t source_end = 0;  // The feed's Position() + Lag() last seen.
    // For WaitForPosition, which waits on wait_mu_ rather than mu_ (every
    // release of a mutex re-checks the conditions of all its waiters, and
    // mu_ is taken for every view and status): the committed position of
    // the serving version (0 while none serves), and whether `state` is
    // kFailed. Set under mu_, then announced by taking wait_mu_.
    std::atomic<uint64_t> served_position{0};
    std::atomic<bool> failed{false};
  };

  // A projection version a runner applies events to, with the writes it
  // has applied and not committed yet.
  struct Member {
    Entry* entry = nullptr;
    StagedWrites writes;
  };

  // One thread and one feed for the projection versions whose committed
  // checkpoints are equal: each event is read (and parsed) once and applied
  // to every member, and one RocksDB write commits all their states and
  // checkpoints, so the members' checkpoints stay equal. Versions that start
  // at different checkpoints (a rebuild beside live projections) run
  // separately, and a runner that has caught up hands its members over to
  // an earlier runner at the same checkpoint (see HandOver).
  struct Runner {
    // Changed by the runner's thread; and, under mu_, by a later runner
    // handing its members over while this one waits in its feed's Next.
    std::vector<Member> members;
    // What the members applied and have not committed yet.
    size_t pending_events = 0;
    std::string pending_checkpoint;
    uint64_t pending_position = 0;
    // Under mu_ (the engine's destructor cancels it).
    EventFeed* feed = nullptr;
    // Under mu_: true while the thread waits in Next with nothing
    // uncommitted, so `members` may change.
    bool waiting = false;
    // Applies large reads to the members in parallel; made on first use.
    std::unique_ptr<ApplyCrew> crew;
    std::thread thread;
  };

  absl::StatusOr<std::shared_ptr<Version>> OpenVersion(const std::string& name,
                                                       uint32_t number);
  void Run(Runner& runner);
  // Follows the source until an error that fails the runner's versions, a
  // stop, or the hand-over of its members (then OK).
  absl::Status Follow(Runner& runner);
  absl::StatusOr<std::unique_ptr<EventFeed>> OpenFeed(Runner& runner);
  // Records a transient source error and waits `delay` (then doubled, up to
  // the limit). False when the engine stops meanwhile.
  bool WaitToRetry(Runner& runner, const absl::Status& error,
                   absl::Duration& delay);
  // Marks `entry` failed with `error`.
  void Fail(Entry& entry, absl::Status error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Lets WaitForPosition's waiters check their conditions again.
  void WakeWaiters() const ABSL_LOCKS_EXCLUDED(wait_mu_);
  void NoteFeed(Runner& runner, const EventFeed& feed);
  // Applies `events` to every member. A member whose Apply fails leaves
  // the runner, failed, with its uncommitted writes; the others go on.
  void Apply(Runner& runner, const std::vector<Envelope>& events);
  // Applies `events` to one member; the error says which event failed.
  absl::Status ApplyTo(Member& member, const std::vector<Envelope>& events);
  absl::Status Commit(Runner& runner);
  // Serves each member's target once it has caught up with the source.
  absl::Status MaybeServe(Runner& runner, const EventFeed& feed);
  // Reads the next events; while it waits, a later runner may hand its
  // members over.
  absl::Status Next(Runner& runner, EventFeed& feed,
                    std::vector<Envelope>& events, std::string& checkpoint)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Moves the members of `runner` (everything committed) into an earlier
  // runner waiting for events at the same checkpoint; true when it did, and
  // `runner` has nothing left to do.
  bool HandOver(Runner& runner) ABSL_LOCKS_EXCLUDED(mu_);
  // Drops retired versions no view uses any more (the I/O outside mu_).
  void DropRetired() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status DropVersion(const std::string& name, uint32_t number);
  const Entry* Find(std::string_view name) const;
  std::string Describe(const Runner& runner) const;

  EventStore& store_;
  rocksdb::DB& db_;
  const Options options_;
  const std::shared_ptr<EventSource> source_;
  const std::string source_name_;
  rocksdb::ColumnFamilyHandle* catalog_ = nullptr;
  std::vector<std::string> claimed_;  // Names held in the NameRegistry.

  mutable absl::Mutex mu_;
  // Filled by Init before any runner starts; then only the fields of each
  // entry change, under mu_ (except `projection`).
  std::map<std::string, Entry, std::less<>> entries_;
  // Filled by Init; a runner whose members were handed over stays here,
  // its thread finished.
  std::vector<std::unique_ptr<Runner>> runners_;
  std::vector<std::pair<std::string, std::shared_ptr<Version>>> retired_
      ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Guards nothing: WaitForPosition waits on it (see Entry::served_position).
  mutable absl::Mutex wait_mu_ ABSL_ACQUIRED_AFTER(mu_);
};

absl::StatusOr<std::shared_ptr<Version>> Engine::OpenVersion(
    const std::string& name, uint32_t number) {
  auto version = std::make_shared<Version>();
  version->number = number;
  version->family_name = FamilyName(name, number);
  const bool existed = store_.ColumnFamily(version->family_name).ok();
  if (!existed) {
    // A version dropped earlier (say, before a rollback to it) starts over:
    // its old checkpoint does not describe the new, empty family.
    rocksdb::WriteBatch reset;
    reset.Delete(catalog_, CheckpointKey(name, number));
    reset.Delete(catalog_, PositionKey(name, number));
    RETURN_IF_ERROR(store_.Write(reset));
  }
  ASSIGN_OR_RETURN(version->family,
                   store_.CreateColumnFamily(version->family_name));
  ASSIGN_OR_RETURN(version->checkpoint,
                   ReadCheckpoint(db_, *catalog_, name, number));
  ASSIGN_OR_RETURN(uint64_t position,
                   ReadPosition(db_, *catalog_, name, number));
  version->position = position;
  return version;
}

absl::Status Engine::Init(
    std::vector<std::unique_ptr<Projection>> projections) {
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
  for (const auto& [name, entry] : entries_) {
    RETURN_IF_ERROR(NameRegistry::Get().Claim(&db_, name));
    claimed_.push_back(name);
  }
  ASSIGN_OR_RETURN(catalog_, store_.CreateColumnFamily(kCatalogFamily));
  for (auto& [name, entry] : entries_) {
    const uint32_t target = entry.projection->version();
    const bool target_existed =
        store_.ColumnFamily(FamilyName(name, target)).ok();
    ASSIGN_OR_RETURN(entry.target, OpenVersion(name, target));
    entry.source_end = entry.target->position;
    ASSIGN_OR_RETURN(std::optional<uint32_t> serving,
                     ReadServingVersion(db_, *catalog_, name));
    if (serving == target && target_existed) {
      entry.serving = entry.target;
      entry.state = ProjectionState::kCatchingUp;
    } else if (serving.has_value() &&
               store_.ColumnFamily(FamilyName(name, *serving)).ok()) {
      // The old version keeps serving, frozen, until the new one caught up.
      // (A serving version whose family is gone is built again, unserved.)
      ASSIGN_OR_RETURN(entry.serving, OpenVersion(name, *serving));
    }
    if (entry.serving != nullptr) {
      entry.served_position = entry.serving->position.load();
    }
    // Versions that neither serve nor build are left from an earlier swap.
    ASSIGN_OR_RETURN(std::vector<uint32_t> on_disk,
                     ListVersionFamilies(db_, name));
    for (uint32_t number : on_disk) {
      if (number == target ||
          (entry.serving && number == entry.serving->number)) {
        continue;
      }
      RETURN_IF_ERROR(DropVersion(name, number));
    }
  }
  // One runner per distinct checkpoint, first come first: the versions a
  // previous engine committed together share one again.
  std::map<std::string, Runner*, std::less<>> by_checkpoint;
  for (auto& [name, entry] : entries_) {
    Runner*& runner = by_checkpoint[entry.target->checkpoint];
    if (runner == nullptr) {
      runner = runners_.emplace_back(std::make_unique<Runner>()).get();
    }
    runner->members.push_back(Member{.entry = &entry, .writes = {}});
  }
  for (const std::unique_ptr<Runner>& runner : runners_) {
    Runner* started = runner.get();
    runner->thread = std::thread([this, started] { Run(*started); });
  }
  return absl::OkStatus();
}

std::string Engine::Describe(const Runner& runner) const {
  std::vector<std::string> names;
  for (const Member& member : runner.members) {
    names.push_back(fmt::format("'{}' version {}",
                                member.entry->projection->name(),
                                member.entry->target->number));
  }
  return fmt::format("projection{} {}", names.size() == 1 ? "" : "s",
                     fmt::join(names, ", "));
}

void Engine::Run(Runner& runner) {
  absl::Status status = Follow(runner);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || status.ok()) return;
    for (Member& member : runner.members) Fail(*member.entry, status);
  }
  WakeWaiters();
}

void Engine::Fail(Entry& entry, absl::Status error) {
  entry.state = ProjectionState::kFailed;
  entry.error = std::move(error);
  entry.failed = true;
}

void Engine::WakeWaiters() const {
  // Releasing the lock re-checks the waiters' conditions.
  absl::MutexLock lock(&wait_mu_);
}

absl::StatusOr<std::unique_ptr<EventFeed>> Engine::OpenFeed(Runner& runner) {
  absl::Duration delay = kFirstRetryDelay;
  for (;;) {
    // The members' checkpoints are equal.
    absl::StatusOr<std::unique_ptr<EventFeed>> feed =
        source_->Open(runner.members.front().entry->target->checkpoint);
    if (feed.ok() && options_.read_ahead) {
      return std::make_unique<ReadAheadFeed>(
          std::move(*feed), options_.poll_interval, options_.batch_events);
    }
    if (feed.ok()) return feed;
    if (!absl::IsUnavailable(feed.status())) {
      return absl::Status(
          feed.status().code(),
          fmt::format("{} cannot open {} at their checkpoint: {}",
                      Describe(runner), source_name_,
                      std::string(feed.status().message())));
    }
    if (!WaitToRetry(runner, feed.status(), delay)) {
      return absl::CancelledError("the engine is stopping");
    }
  }
}

absl::Status Engine::Follow(Runner& runner) {
  ASSIGN_OR_RETURN(std::unique_ptr<EventFeed> feed, OpenFeed(runner));
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("the engine is stopping");
    runner.feed = feed.get();
  }
  // Before the feed is destroyed, so the destructor never cancels it after.
  absl::Cleanup forget_feed = [this, &runner] {
    absl::MutexLock lock(&mu_);
    runner.feed = nullptr;
  };
  NoteFeed(runner, *feed);
  RETURN_IF_ERROR(MaybeServe(runner, *feed));
  std::vector<Envelope> events;
  std::string checkpoint;
  absl::Duration delay = kFirstRetryDelay;
  while (!runner.members.empty()) {
    absl::Status read = Next(runner, *feed, events, checkpoint);
    if (absl::IsUnavailable(read)) {
      // What was applied stays good: commit it before waiting.
      if (runner.pending_events > 0) RETURN_IF_ERROR(Commit(runner));
      if (!WaitToRetry(runner, read, delay)) return read;
      continue;
    }
    if (!read.ok()) {
      // A stop: keep what was applied (the next engine need not redo it).
      if (absl::IsCancelled(read) && runner.pending_events > 0) {
        RETURN_IF_ERROR(Commit(runner));
      }
      return absl::Status(
          read.code(), fmt::format("{} cannot read {}: {}", Describe(runner),
                                   source_name_, std::string(read.message())));
    }
    delay = kFirstRetryDelay;
    NoteFeed(runner, *feed);
    if (!events.empty()) {
      Apply(runner, events);
      if (runner.members.empty()) break;  // Each failed; Apply said why.
      runner.pending_events += events.size();
      runner.pending_checkpoint = checkpoint;
      runner.pending_position = feed->Position();
    }
    if (runner.pending_events == 0) {
      RETURN_IF_ERROR(MaybeServe(runner, *feed));
      if (feed->CaughtUp() && HandOver(runner)) return absl::OkStatus();
      continue;
    }
    // A serving version commits every read, so reads see new events at
    // once. Versions being built serve nothing yet: they stage the writes
    // of many reads and commit them together.
    bool serving = false;
    size_t staged_bytes = 0;
    for (const Member& member : runner.members) {
      serving |= member.entry->serving == member.entry->target;
      staged_bytes += member.writes.bytes();
    }
    if (serving || events.empty() || feed->CaughtUp() ||
        staged_bytes >= options_.build_batch_bytes) {
      RETURN_IF_ERROR(Commit(runner));
      RETURN_IF_ERROR(MaybeServe(runner, *feed));
      if (feed->CaughtUp() && HandOver(runner)) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

bool Engine::WaitToRetry(Runner& runner, const absl::Status& error,
                         absl::Duration& delay) {
  absl::Status shown(
      error.code(),
      fmt::format("cannot read {} (retrying in {}): {}", source_name_,
                  absl::FormatDuration(delay), std::string(error.message())));
  absl::MutexLock lock(&mu_);
  for (Member& member : runner.members) {
    Entry& entry = *member.entry;
    entry.error = shown;
    if (entry.serving == entry.target) {
      entry.state = ProjectionState::kCatchingUp;
    }
  }
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
  delay = std::min(delay * 2, options_.max_retry_delay);
  return !stopping_;
}

void Engine::NoteFeed(Runner& runner, const EventFeed& feed) {
  const uint64_t end = feed.Position() + feed.Lag();
  absl::MutexLock lock(&mu_);
  for (Member& member : runner.members) {
    Entry& entry = *member.entry;
    entry.source_end = end;
    if (entry.state != ProjectionState::kFailed) entry.error = absl::OkStatus();
  }
}

void Engine::Apply(Runner& runner, const std::vector<Envelope>& events) {
  std::vector<absl::Status> results(runner.members.size());
  auto apply = [&](size_t i) {
    results[i] = ApplyTo(runner.members[i], events);
  };
  if (options_.apply_threads > 1 && runner.members.size() > 1 &&
      events.size() >= kParallelApplyEvents) {
    if (runner.crew == nullptr) {
      runner.crew = std::make_unique<ApplyCrew>(
          std::min(options_.apply_threads, runner.members.size()) - 1);
    }
    runner.crew->Run(runner.members.size(), apply);
  } else {
    for (size_t i = 0; i < runner.members.size(); ++i) apply(i);
  }
  if (std::all_of(results.begin(), results.end(),
                  [](const absl::Status& result) { return result.ok(); })) {
    return;
  }
  // A member that failed leaves with its uncommitted writes: its state
  // stays at its last commit.
  std::vector<Member> kept;
  std::vector<std::pair<Entry*, absl::Status>> failed;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) {
      kept.push_back(std::move(runner.members[i]));
    } else {
      failed.emplace_back(runner.members[i].entry, std::move(results[i]));
    }
  }
  runner.members = std::move(kept);
  {
    absl::MutexLock lock(&mu_);
    for (auto& [entry, error] : failed) Fail(*entry, std::move(error));
  }
  WakeWaiters();
}

absl::Status Engine::ApplyTo(Member& member,
                             const std::vector<Envelope>& events) {
  Entry& entry = *member.entry;
  StagingWriter writer(db_, *entry.target->family, member.writes);
  for (const Envelope& event : events) {
    absl::Status applied = entry.projection->Apply(event, writer);
    if (applied.ok()) continue;
    return absl::Status(
        applied.code(),
        fmt::format("projection '{}' version {} failed to apply the event "
                    "at global position {} (type {}): {}; fix the "
                    "projection and restart",
                    entry.projection->name(), entry.target->number,
                    event.global_position(), event.type(),
                    std::string(applied.message())));
  }
  return absl::OkStatus();
}

absl::Status Engine::Commit(Runner& runner) {
  // Only the last write of each key reaches RocksDB, in key order: a batch
  // of events often updates the same (hot) keys many times, memtable
  // inserts are most of a rebuild's cost, and sorted inserts are the
  // cheapest.
  const std::string position = EncodeCheckpoint(runner.pending_position);
  auto add = [&](const Member& member, rocksdb::WriteBatch& batch) {
    const Version& target = *member.entry->target;
    const std::string& name = member.entry->projection->name();
    member.writes.AppendTo(batch, target.family);
    batch.Put(catalog_, CheckpointKey(name, target.number),
              runner.pending_checkpoint);
    batch.Put(catalog_, PositionKey(name, target.number), position);
  };
  // Unsynced: each version's state and checkpoint are in one batch, so a
  // machine crash can only roll them back to an earlier commit, from which
  // the engine re-applies the (synced) log. Syncing here cost one fsync per
  // commit on every write's path.
  constexpr auto kUnsynced = eventstore::EventStore::Durability::kUnsynced;
  if (runner.crew != nullptr && runner.members.size() > 1 &&
      runner.pending_events >= kParallelApplyEvents) {
    // Large commits (catching up): a batch per version, written in
    // parallel, as their memtable inserts take long. Should one fail, the
    // versions' checkpoints differ from then on; each is still exact, and
    // the next start gives them runners of their own that join later.
    std::vector<absl::Status> written(runner.members.size());
    runner.crew->Run(runner.members.size(), [&](size_t i) {
      rocksdb::WriteBatch batch;
      add(runner.members[i], batch);
      written[i] = store_.Write(batch, kUnsynced);
    });
    for (const absl::Status& status : written) RETURN_IF_ERROR(status);
  } else {
    rocksdb::WriteBatch batch;
    for (const Member& member : runner.members) add(member, batch);
    RETURN_IF_ERROR(store_.Write(batch, kUnsynced));
  }
  for (Member& member : runner.members) {
    member.writes.Clear();
    member.entry->target->checkpoint = runner.pending_checkpoint;
  }
  runner.pending_events = 0;
  {
    // Under mu_: Status and View read the positions with the versions.
    absl::MutexLock lock(&mu_);
    for (Member& member : runner.members) {
      Entry& entry = *member.entry;
      entry.target->position = runner.pending_position;
      if (entry.serving == entry.target) {
        entry.served_position = runner.pending_position;
      }
    }
  }
  WakeWaiters();
  return absl::OkStatus();
}

absl::Status Engine::MaybeServe(Runner& runner, const EventFeed& feed) {
  const bool caught_up = feed.CaughtUp();
  DropRetired();
  std::vector<Entry*> to_serve;
  {
    absl::MutexLock lock(&mu_);
    for (Member& member : runner.members) {
      Entry& entry = *member.entry;
      if (entry.serving == entry.target) {
        entry.state =
            caught_up ? ProjectionState::kLive : ProjectionState::kCatchingUp;
      } else if (caught_up) {
        to_serve.push_back(&entry);
      }
    }
  }
  if (to_serve.empty()) return absl::OkStatus();
  // The swap: durable first, then visible to new views at once.
  rocksdb::WriteBatch batch;
  for (const Entry* entry : to_serve) {
    batch.Put(catalog_, ServingKey(entry->projection->name()),
              std::to_string(entry->target->number));
  }
  RETURN_IF_ERROR(store_.Write(batch));
  {
    absl::MutexLock lock(&mu_);
    for (Entry* entry : to_serve) {
      if (entry->serving != nullptr) {
        retired_.emplace_back(entry->projection->name(),
                              std::move(entry->serving));
      }
      entry->serving = entry->target;
      entry->state = ProjectionState::kLive;
      entry->served_position = entry->target->position.load();
    }
  }
  WakeWaiters();
  DropRetired();
  return absl::OkStatus();
}

absl::Status Engine::Next(Runner& runner, EventFeed& feed,
                          std::vector<Envelope>& events,
                          std::string& checkpoint) {
  // Only with another runner is there anyone to hand members over.
  const bool idle = runner.pending_events == 0 && runners_.size() > 1;
  if (idle) {
    absl::MutexLock lock(&mu_);
    runner.waiting = true;
  }
  absl::Status read = feed.Next(options_.poll_interval, options_.batch_events,
                                events, checkpoint);
  if (idle) {
    absl::MutexLock lock(&mu_);
    runner.waiting = false;
  }
  return read;
}

bool Engine::HandOver(Runner& runner) {
  if (runners_.front().get() == &runner) return false;  // The first stays.
  absl::MutexLock lock(&mu_);
  const std::string& checkpoint =
      runner.members.front().entry->target->checkpoint;
  for (const std::unique_ptr<Runner>& other : runners_) {
    if (other.get() == &runner) return false;  // Only to earlier ones.
    // A waiting runner has committed all it read, so its members' (equal)
    // checkpoints are where its feed stands: members joining at the same
    // checkpoint get exactly the events the others get next.
    if (!other->waiting || other->members.empty() ||
        other->members.front().entry->target->checkpoint != checkpoint) {
      continue;
    }
    for (Member& member : runner.members) {
      other->members.push_back(std::move(member));
    }
    runner.members.clear();
    return true;
  }
  return false;
}

void Engine::DropRetired() {
  std::vector<std::pair<std::string, std::shared_ptr<Version>>> unused;
  {
    absl::MutexLock lock(&mu_);
    // A retired version is no entry's `serving` any more, so no new view can
    // take it: once only retired_ holds it, it stays unused.
    std::erase_if(retired_, [&unused](auto& retired) {
      if (retired.second.use_count() > 1) return false;  // A view reads it.
      unused.push_back(std::move(retired));
      return true;
    });
  }
  for (const auto& [name, version] : unused) {
    // A failed drop leaves the family for the next start to drop.
    DropVersion(name, version->number).IgnoreError();
  }
}

absl::Status Engine::DropVersion(const std::string& name, uint32_t number) {
  // The family first: its checkpoint must never be gone while its state
  // exists (OpenVersion resets the checkpoint of a missing family).
  RETURN_IF_ERROR(store_.DropColumnFamily(FamilyName(name, number)));
  rocksdb::WriteBatch batch;
  batch.Delete(catalog_, CheckpointKey(name, number));
  batch.Delete(catalog_, PositionKey(name, number));
  return store_.Write(batch);
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
  uint64_t source_end = 0;
  {
    absl::MutexLock lock(&mu_);
    serving = entry->serving;
    source_end = entry->source_end;
  }
  if (serving == nullptr) {
    return absl::UnavailableError(fmt::format(
        "projection '{}' version {} is being built (at global position {} of "
        "{} in {}); retry when it has caught up",
        name, entry->target->number, entry->target->position.load(), source_end,
        source_name_));
  }
  const rocksdb::Snapshot* snapshot = db_.GetSnapshot();
  absl::StatusOr<uint64_t> position = ReadPosition(
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
  auto reached = [entry, position] {
    return entry->failed || entry->served_position >= position;
  };
  if (!reached()) {
    absl::MutexLock lock(&wait_mu_);
    wait_mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  if (entry->failed) {
    absl::MutexLock lock(&mu_);
    return absl::FailedPreconditionError(
        fmt::format("projection '{}' has failed: {}", name,
                    std::string(entry->error.message())));
  }
  if (entry->served_position < position) {
    return absl::DeadlineExceededError(fmt::format(
        "projection '{}' had not reached global position {} after {}", name,
        position, absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

std::vector<ProjectionStatus> Engine::Status() const {
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
    status.log_position = std::max(entry.source_end, status.target_position);
    status.lag = status.log_position - status.target_position;
    status.error = entry.error;
    status.source = source_name_;
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
  if (options.apply_threads == 0) {
    options.apply_threads =
        std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  }
  auto engine = std::make_unique<Engine>(store, std::move(options));
  RETURN_IF_ERROR(engine->Init(std::move(projections)));
  return engine;
}

}  // namespace crm::projection
