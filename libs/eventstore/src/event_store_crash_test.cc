// Crash-safety test of EventStore: a child process appends as fast as it can
// and reports each acknowledged append on a pipe; the parent kills it with
// SIGKILL at a random moment, reopens the store and checks that every
// acknowledged append is there, that no append is there in part, that the log
// and the streams have no gap, and that a retry of an acknowledged request is
// answered from the store. Twenty-four rounds run on the same directory, four
// of them killing the child while it starts (opening and recovering the
// store) rather than while it appends.
//
// The child is its own small program, eventstore_crash_child
// (event_store_crash_child.cc), whose path CMake passes in as
// CRM_EVENTSTORE_CRASH_CHILD; the parent forks and execs it with its orders
// as arguments: "<round> <pipe fd> <store path>". A plain fork() without exec
// would not do: the child would inherit RocksDB's process-wide thread pools
// from the parent's earlier stores as memory only, with their condition
// variables in the state of threads that do not exist in the child, and
// deadlock on its first flush or compaction. The requests the child makes
// and the lines it reports are in crash_test_protocol.h.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crash_test_protocol.h"
#include "crm/eventstore/event_store.h"
#include "crm/eventstore/expected_version.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store_test_util.h"

namespace crm::eventstore {
namespace {

using ::crm::eventstore::crash_test::AckedAppend;
using ::crm::eventstore::crash_test::AckOf;
using ::crm::eventstore::crash_test::BuildRequest;
using ::crm::eventstore::crash_test::ParseAck;
using ::crm::eventstore::crash_test::PayloadOf;
using ::crm::eventstore::crash_test::PlansOf;
using ::crm::eventstore::crash_test::StreamPlan;
using ::crm::eventstore::crash_test::StreamRange;
using ::crm::testing::IsOk;

#ifndef CRM_EVENTSTORE_CRASH_CHILD
#error "CRM_EVENTSTORE_CRASH_CHILD must be the path of eventstore_crash_child"
#endif
// The child program (event_store_crash_child.cc).
constexpr char kChildBinary[] = CRM_EVENTSTORE_CRASH_CHILD;

// Rounds whose child is killed after it acknowledged appends, and rounds
// whose child is killed soon after it started, most likely while it opens
// (and recovers) the store.
constexpr int kAckedRounds = 20;
constexpr int kStartupRounds = 4;
constexpr int kChildWriters = 3;
// How long the parent waits for the child's first acknowledged append.
constexpr absl::Duration kFirstAckTimeout = absl::Seconds(10);
// The child is killed this long after its first acknowledged append, or in
// a startup round this long after it was started.
constexpr int kMinKillDelayMs = 20;
constexpr int kMaxKillDelayMs = 300;
constexpr int kMaxStartupKillDelayMs = 250;
// How many acknowledged appends of each round the parent retries.
constexpr size_t kRetriesPerRound = 40;

// Owns a file descriptor.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { Close(); }

  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Owns a child process: kills and reaps it unless it was reaped already, so
// that no child outlives a failed test.
class ChildProcess {
 public:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ > 0) KillAndWait().IgnoreError();  // Cleanup after a failure.
  }

  // Sends SIGKILL and reaps the child. Returns the wait status.
  absl::StatusOr<int> KillAndWait() {
    if (pid_ <= 0) return absl::FailedPreconditionError("no child");
    kill(pid_, SIGKILL);
    return Wait();
  }

  // Reaps the child, which must be exiting.
  absl::StatusOr<int> Wait() {
    int status = 0;
    pid_t reaped;
    do {
      reaped = waitpid(pid_, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    pid_ = -1;
    if (reaped < 0) return absl::InternalError(strerror(errno));
    return status;
  }

 private:
  pid_t pid_;
};

std::string DescribeWaitStatus(int status) {
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status));
  }
  if (WIFEXITED(status)) {
    return absl::StrCat("exited with ", WEXITSTATUS(status));
  }
  return absl::StrCat("wait status ", status);
}

// Reads the child's report lines from the pipe.
class AckReader {
 public:
  explicit AckReader(int fd) : fd_(fd) {}

  // Reads until `deadline`, until the pipe is closed, or, when
  // `until_first_ack`, until at least one ack arrived.
  void ReadUntil(absl::Time deadline, bool until_first_ack) {
    while (!eof_ && !(until_first_ack && !acks_.empty())) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return;
      pollfd poll_fd{fd_, POLLIN, 0};
      const int ready = poll(
          &poll_fd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) {
        errors_.push_back(absl::StrCat("poll: ", strerror(errno)));
        return;
      }
      if (ready == 0) continue;
      char buffer[1 << 16];
      const ssize_t got = read(fd_, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        errors_.push_back(absl::StrCat("read: ", strerror(errno)));
        return;
      }
      if (got == 0) {
        eof_ = true;
        if (!pending_.empty()) {
          errors_.push_back(absl::StrCat("incomplete line: ", pending_));
        }
        return;
      }
      pending_.append(buffer, static_cast<size_t>(got));
      size_t newline;
      while ((newline = pending_.find('\n')) != std::string::npos) {
        Parse(pending_.substr(0, newline));
        pending_.erase(0, newline + 1);
      }
    }
  }

  bool eof() const { return eof_; }
  const std::vector<AckedAppend>& acks() const { return acks_; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  void Parse(const std::string& line) {
    if (line.rfind("E ", 0) == 0) {
      errors_.push_back(absl::StrCat("child: ", line.substr(2)));
      return;
    }
    std::optional<AckedAppend> ack = ParseAck(line);
    if (!ack.has_value()) {
      errors_.push_back(absl::StrCat("malformed line: ", line));
      return;
    }
    acks_.push_back(*std::move(ack));
  }

  const int fd_;
  bool eof_ = false;
  std::string pending_;
  std::vector<AckedAppend> acks_;
  std::vector<std::string> errors_;
};

// Collects problems found in the store and reports them as one failure with
// the first few, instead of thousands of lines.
class Problems {
 public:
  void Add(std::string problem) {
    ++count_;
    if (first_.size() < 20) first_.push_back(std::move(problem));
  }
  bool empty() const { return count_ == 0; }
  std::string ToString() const {
    return absl::StrCat(count_, " problem(s), the first ", first_.size(),
                        ":\n  ", absl::StrJoin(first_, "\n  "));
  }

 private:
  size_t count_ = 0;
  std::vector<std::string> first_;
};

// Checks the whole log: positions 1..LastPosition() with no gap; every append
// in it complete, contiguous and in request order; every stream's versions
// 1..N with no gap and agreeing with its index.
void CheckLog(const EventStore& store, const std::vector<Envelope>& log,
              Problems& problems) {
  if (log.size() != store.LastPosition()) {
    problems.Add(absl::StrCat("ReadAll returned ", log.size(),
                              " events but LastPosition() is ",
                              store.LastPosition()));
  }
  struct Seen {
    size_t count = 0;    // Events of the append in its payloads.
    uint64_t first = 0;  // Position of its index 0.
    std::vector<bool> indexes;
  };
  std::map<std::string, Seen> appends;
  std::map<std::string, uint64_t> stream_versions;
  for (size_t i = 0; i < log.size(); ++i) {
    const Envelope& event = log[i];
    const uint64_t position = i + 1;
    if (event.global_position() != position) {
      problems.Add(absl::StrCat("event ", i, " of the log has position ",
                                event.global_position(), ", not ", position));
    }
    const uint64_t expected_version = ++stream_versions[event.stream()];
    if (event.stream_version() != expected_version) {
      problems.Add(absl::StrCat(
          "at position ", position, " stream ", event.stream(), " has version ",
          event.stream_version(), ", not ", expected_version));
    }
    std::vector<absl::string_view> parts = absl::StrSplit(event.payload(), '|');
    size_t index = 0;
    size_t count = 0;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &index) ||
        !absl::SimpleAtoi(parts[2], &count) || index >= count) {
      problems.Add(absl::StrCat("at position ", position,
                                " an unexpected payload: ", event.payload()));
      continue;
    }
    Seen& seen = appends[std::string(parts[0])];
    if (seen.indexes.empty()) {
      seen.count = count;
      seen.first = position - index;
      seen.indexes.assign(count, false);
    }
    if (count != seen.count || position != seen.first + index ||
        seen.indexes[index]) {
      problems.Add(absl::StrCat(
          "at position ", position, " event ", index, " of ", count,
          " of append ", parts[0],
          " is out of place or repeated (the append starts at position ",
          seen.first, " with ", seen.count, " events)"));
      continue;
    }
    seen.indexes[index] = true;
  }
  for (const auto& [request_id, seen] : appends) {
    const size_t present =
        std::count(seen.indexes.begin(), seen.indexes.end(), true);
    if (present != seen.count) {
      problems.Add(absl::StrCat("append ", request_id, " is partial: ", present,
                                " of its ", seen.count,
                                " events are in the log"));
    }
  }
  for (const auto& [stream, version] : stream_versions) {
    absl::StatusOr<StreamInfo> info = store.GetStreamInfo(stream);
    if (!info.ok()) {
      problems.Add(absl::StrCat("GetStreamInfo(", stream,
                                "): ", info.status().ToString()));
    } else if (info->last_version != version) {
      problems.Add(absl::StrCat("stream ", stream, " has ", version,
                                " events in the log but its version is ",
                                info->last_version));
    }
  }
}

// Checks that each acknowledged append is in the log where it was reported.
void CheckAcknowledged(const std::vector<Envelope>& log,
                       const std::vector<AckedAppend>& acks,
                       Problems& problems) {
  for (const AckedAppend& ack : acks) {
    const size_t count = ack.EventCount();
    if (ack.last_position - ack.first_position + 1 != count ||
        ack.last_position > log.size()) {
      problems.Add(
          absl::StrCat("acknowledged append ", ack.request_id, " at positions ",
                       ack.first_position, "..", ack.last_position, " (", count,
                       " events) is missing; the log ends at ", log.size()));
      continue;
    }
    size_t index = 0;
    for (const StreamRange& range : ack.streams) {
      for (uint64_t version = range.first_version;
           version <= range.last_version; ++version, ++index) {
        const Envelope& event = log[ack.first_position - 1 + index];
        if (event.payload() != PayloadOf(ack.request_id, index, count) ||
            event.stream() != range.stream ||
            event.stream_version() != version) {
          problems.Add(absl::StrCat(
              "acknowledged event ", index, " of append ", ack.request_id, " (",
              range.stream, "@", version, ") is not at position ",
              ack.first_position + index, ", which holds ", event.stream(), "@",
              event.stream_version(), " payload ", event.payload()));
        }
      }
    }
  }
}

// Retries `ack` with the same request_id and content: the store must answer
// with the stored result and write nothing.
void CheckRetry(EventStore& store, const AckedAppend& ack, Problems& problems) {
  const std::vector<StreamPlan> plans = PlansOf(ack);
  std::vector<StreamAppend> request = BuildRequest(ack.request_id, plans);
  absl::StatusOr<AppendResult> result =
      request.size() == 1
          ? store.Append(request[0].stream, request[0].expected_version,
                         std::move(request[0].events), ack.request_id)
          : store.AppendMulti(std::move(request), ack.request_id);
  if (!result.ok()) {
    problems.Add(absl::StrCat("retry of ", ack.request_id, ": ",
                              result.status().ToString()));
    return;
  }
  bool same = result->deduplicated &&
              result->first_position == ack.first_position &&
              result->last_position == ack.last_position &&
              result->streams.size() == ack.streams.size();
  for (size_t s = 0; same && s < ack.streams.size(); ++s) {
    same = result->streams[s].stream == ack.streams[s].stream &&
           result->streams[s].first_version == ack.streams[s].first_version &&
           result->streams[s].last_version == ack.streams[s].last_version;
  }
  if (!same) {
    problems.Add(absl::StrCat("retry of ", ack.request_id,
                              " answered deduplicated=", result->deduplicated,
                              " positions ", result->first_position, "..",
                              result->last_position,
                              " instead of the acknowledged positions ",
                              ack.first_position, "..", ack.last_position));
  }
}

class EventStoreCrashTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<EventStore>> OpenStore() {
    EventStore::Options options;
    options.path = path_;
    options.sync = true;
    return EventStore::Open(std::move(options));
  }

  // Runs one child until it is killed, `kill_delay_ms` after its first
  // acknowledged append or, when `at_startup`, after it was started, and
  // adds the appends it acknowledged to `acks`.
  void RunAndKillChild(int round, bool at_startup, int kill_delay_ms,
                       std::vector<AckedAppend>& acks) {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0) << strerror(errno);
    FileDescriptor read_end(fds[0]);
    FileDescriptor write_end(fds[1]);
    FileDescriptor dev_null(open("/dev/null", O_WRONLY | O_CLOEXEC));
    ASSERT_GE(dev_null.get(), 0) << strerror(errno);

    // Everything the child needs is built before fork(): between fork() and
    // exec() only async-signal-safe calls are allowed.
    std::vector<std::string> arguments = {kChildBinary, absl::StrCat(round),
                                          absl::StrCat(write_end.get()), path_};
    std::vector<char*> argv;
    for (std::string& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    char** const envp = environ;

    const pid_t parent = getpid();
    const pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork: " << strerror(errno);
    if (pid == 0) {
      // The child dies with the parent, even if the parent is killed; the
      // pipe's write end survives exec; anything the child prints on stdout
      // does not reach the test's output.
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent ||
          fcntl(write_end.get(), F_SETFD, 0) != 0 ||
          dup2(dev_null.get(), STDOUT_FILENO) < 0) {
        _exit(126);
      }
      execve(kChildBinary, argv.data(), envp);
      _exit(127);
    }
    ChildProcess child(pid);
    write_end.Close();

    AckReader reader(read_end.get());
    if (!at_startup) {
      reader.ReadUntil(absl::Now() + kFirstAckTimeout,
                       /*until_first_ack=*/true);
    }
    if (!at_startup && reader.acks().empty()) {
      absl::StatusOr<int> status = child.KillAndWait();
      FAIL() << "the child acknowledged no append within " << kFirstAckTimeout
             << (reader.eof() ? " and closed the pipe" : "") << "; it "
             << (status.ok() ? DescribeWaitStatus(*status)
                             : status.status().ToString())
             << "; " << absl::StrJoin(reader.errors(), "; ");
    }
    reader.ReadUntil(absl::Now() + absl::Milliseconds(kill_delay_ms),
                     /*until_first_ack=*/false);
    const bool died_early = reader.eof();
    ASSERT_OK_AND_ASSIGN(const int status, child.KillAndWait());
    // What the child wrote before it died was acknowledged too.
    reader.ReadUntil(absl::Now() + absl::Seconds(10),
                     /*until_first_ack=*/false);
    ASSERT_FALSE(died_early)
        << "the child died before it was killed: " << DescribeWaitStatus(status)
        << "; " << absl::StrJoin(reader.errors(), "; ");
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << DescribeWaitStatus(status) << "; "
        << absl::StrJoin(reader.errors(), "; ");
    ASSERT_TRUE(reader.eof()) << "the pipe stayed open after the child died";
    ASSERT_THAT(reader.errors(), ::testing::IsEmpty());
    acks.insert(acks.end(), reader.acks().begin(), reader.acks().end());
  }

  // Opens the store, checks the log and the acknowledged appends, retries a
  // sample of acks[retry_from..], and closes the store.
  void ReopenAndCheck(const std::vector<AckedAppend>& acks, size_t retry_from,
                      std::mt19937& random) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventStore> store, OpenStore());
    ASSERT_OK_AND_ASSIGN(std::vector<Envelope> log,
                         test_util::ReadWholeLog(*store, 1000));
    Problems problems;
    CheckLog(*store, log, problems);
    CheckAcknowledged(log, acks, problems);

    std::vector<size_t> retries;
    for (size_t i = retry_from; i < acks.size(); ++i) retries.push_back(i);
    std::shuffle(retries.begin(), retries.end(), random);
    if (retries.size() > kRetriesPerRound) retries.resize(kRetriesPerRound);
    // Always retry the last acknowledged append, the one nearest the kill,
    // and a few of earlier rounds, whose keys went through more reopens.
    if (acks.size() > retry_from) retries.push_back(acks.size() - 1);
    if (retry_from > 0) {
      std::uniform_int_distribution<size_t> earlier(0, retry_from - 1);
      for (int i = 0; i < 5; ++i) retries.push_back(earlier(random));
    }
    const uint64_t last_position = store->LastPosition();
    for (size_t i : retries) CheckRetry(*store, acks[i], problems);
    const EventStoreStats stats = store->stats();
    if (store->LastPosition() != last_position || stats.appends != 0 ||
        stats.deduplicated != retries.size()) {
      problems.Add(absl::StrCat(
          "retries must append nothing: the log moved from ", last_position,
          " to ", store->LastPosition(), "; stats: ", stats.appends,
          " appends, ", stats.deduplicated, " deduplicated of ", retries.size(),
          " retries"));
    }
    events_checked_ = log.size();
    EXPECT_TRUE(problems.empty()) << problems.ToString();
  }

  test_util::ScratchDir dir_{"eventstore_crash"};
  const std::string path_ = (dir_.path() / "store").string();
  // Events in the log at the last ReopenAndCheck.
  size_t events_checked_ = 0;
};

TEST_F(EventStoreCrashTest, KillDuringAppendsKeepsAcknowledgedAndNoPartial) {
  const unsigned seed = std::random_device()();
  SCOPED_TRACE(absl::StrCat("random seed ", seed));
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> kill_delay(kMinKillDelayMs,
                                                kMaxKillDelayMs);

  std::uniform_int_distribution<int> startup_kill_delay(0,
                                                        kMaxStartupKillDelayMs);

  std::vector<AckedAppend> acks;
  for (int round = 0; round < kAckedRounds + kStartupRounds; ++round) {
    const bool at_startup = round % 6 == 5;
    const int delay_ms =
        at_startup ? startup_kill_delay(random) : kill_delay(random);
    SCOPED_TRACE(absl::StrCat(
        "round ", round, ", killed ", delay_ms,
        at_startup ? " ms after it started" : " ms after the first ack"));
    const size_t round_start = acks.size();
    ASSERT_NO_FATAL_FAILURE(RunAndKillChild(round, at_startup, delay_ms, acks));
    if (!at_startup) {
      ASSERT_GT(acks.size(), round_start);
    }
    ASSERT_NO_FATAL_FAILURE(ReopenAndCheck(acks, round_start, random));
    if (HasFailure()) return;
  }

  // After the crashes the store takes appends normally, and keeps them.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventStore> store, OpenStore());
  const uint64_t last_position = store->LastPosition();
  ASSERT_OK_AND_ASSIGN(StreamInfo info, store->GetStreamInfo("crash-writer-0"));
  const size_t first_new = acks.size();
  for (const auto& [request_id, plans] :
       std::vector<std::pair<std::string, std::vector<StreamPlan>>>{
           {"after-crash-1",
            {{"crash-writer-0", ExpectedVersion::Exact(info.last_version), 2}}},
           {"after-crash-2",
            {{"after-crash-new", ExpectedVersion::NoStream(), 1},
             {"crash-shared", ExpectedVersion::Any(), 3}}}}) {
    ASSERT_OK_AND_ASSIGN(
        AppendResult result,
        store->AppendMulti(BuildRequest(request_id, plans), request_id));
    EXPECT_FALSE(result.deduplicated);
    acks.push_back(AckOf(request_id, plans, result));
  }
  EXPECT_EQ(acks[first_new].first_position, last_position + 1);
  EXPECT_EQ(acks[first_new].streams[0].first_version, info.last_version + 1);
  EXPECT_EQ(acks.back().last_position, last_position + 6);
  EXPECT_EQ(store->LastPosition(), last_position + 6);
  store.reset();
  ASSERT_NO_FATAL_FAILURE(ReopenAndCheck(acks, first_new, random));
  RecordProperty("acknowledged_appends", static_cast<int>(acks.size()));
  RecordProperty("events", static_cast<int>(events_checked_));
}

}  // namespace
}  // namespace crm::eventstore
