// The child process of the event store's kill -9 crash test
// (event_store_crash_test.cc): opens the store, appends from kChildWriters
// threads as fast as it can and reports each acknowledged append on a pipe
// (crash_test_protocol.h), until the parent kills it with SIGKILL.
//
// Usage: eventstore_crash_child <round> <pipe fd> <store path>
//
// It never returns: it appends until it is killed, and leaves with _exit() on
// any error, after reporting it on the pipe. Bad arguments print a usage line
// to stderr and exit with 2.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "crash_test_protocol.h"
#include "crm/eventstore/event_store.h"
#include "crm/eventstore/expected_version.h"

namespace crm::eventstore::crash_test {
namespace {

constexpr int kChildWriters = 3;

// Writes `line` to the pipe in one write(): a pipe write of at most PIPE_BUF
// bytes is atomic, so lines of several threads never interleave.
void WriteLine(int fd, absl::string_view line) {
  ssize_t written;
  do {
    written = write(fd, line.data(), line.size());
  } while (written < 0 && errno == EINTR);
  if (written != static_cast<ssize_t>(line.size())) _exit(3);
}

// Reports `what` as an "E" line on the pipe and exits.
[[noreturn]] void ChildFail(int fd, const std::string& what) {
  std::string line = absl::StrCat(
      "E ", absl::StrReplaceAll(what.substr(0, 3000), {{"\n", " "}}), "\n");
  WriteLine(fd, line);
  _exit(2);
}

void ChildWriter(EventStore& store, int round, int writer, int fd) {
  const std::string own = absl::StrCat("crash-writer-", writer);
  uint64_t own_version = 0;
  absl::StatusOr<StreamInfo> info = store.GetStreamInfo(own);
  if (info.ok()) {
    own_version = info->last_version;
  } else if (!absl::IsNotFound(info.status())) {
    ChildFail(fd, absl::StrCat("GetStreamInfo(", own,
                               "): ", info.status().ToString()));
  }
  for (uint64_t i = 0;; ++i) {
    const std::string request_id =
        absl::StrCat("r", round, "-w", writer, "-", i);
    std::vector<StreamPlan> plans;
    const size_t n = 1 + (i + writer) % 4;
    switch (i % 4) {
      case 0:
        plans = {{own, ExpectedVersion::Exact(own_version), 1}};
        break;
      case 1:
        plans = {{"crash-shared", ExpectedVersion::Any(), n}};
        break;
      case 2:
        plans = {{own, ExpectedVersion::Exact(own_version), 2},
                 {absl::StrCat("crash-shared-", i / 4 % 2),
                  ExpectedVersion::Any(), n}};
        break;
      default:
        plans = {{"crash-multi-a", ExpectedVersion::Any(), 1},
                 {own, ExpectedVersion::Exact(own_version), 3},
                 {"crash-multi-b", ExpectedVersion::Any(), n}};
        break;
    }
    std::vector<StreamAppend> request = BuildRequest(request_id, plans);
    absl::StatusOr<AppendResult> result =
        request.size() == 1
            ? store.Append(request[0].stream, request[0].expected_version,
                           std::move(request[0].events), request_id)
            : store.AppendMulti(std::move(request), request_id);
    if (!result.ok()) {
      ChildFail(fd, absl::StrCat("append ", request_id, ": ",
                                 result.status().ToString()));
    }
    for (const StreamAppendResult& stream : result->streams) {
      if (stream.stream == own) own_version = stream.last_version;
    }
    WriteLine(fd, FormatAck(AckOf(request_id, plans, *result)));
  }
}

// Opens the store at `path` and runs kChildWriters writers until killed.
[[noreturn]] void RunChild(const std::string& path, int round, int fd) {
  EventStore::Options options;
  options.path = path;
  options.sync = true;
  absl::StatusOr<std::unique_ptr<EventStore>> store =
      EventStore::Open(std::move(options));
  if (!store.ok()) {
    ChildFail(fd, absl::StrCat("Open: ", store.status().ToString()));
  }
  // Never joined: the process ends by SIGKILL, or by _exit() on an error.
  for (int writer = 0; writer < kChildWriters; ++writer) {
    std::thread([&store, round, writer, fd] {
      ChildWriter(**store, round, writer, fd);
    }).detach();
  }
  for (;;) pause();
}

}  // namespace
}  // namespace crm::eventstore::crash_test

int main(int argc, char** argv) {
  int round = 0;
  int fd = -1;
  if (argc != 4 || !absl::SimpleAtoi(argv[1], &round) ||
      !absl::SimpleAtoi(argv[2], &fd) || fd < 0 || argv[3][0] == '\0' ||
      fcntl(fd, F_GETFD) < 0) {
    std::cerr << "usage: " << (argc > 0 ? argv[0] : "eventstore_crash_child")
              << " <round> <pipe fd> <store path>\n"
                 "  (the child of EventStoreCrashTest; <pipe fd> must be an "
                 "open file descriptor)\n";
    return 2;
  }
  crm::eventstore::crash_test::RunChild(argv[3], round, fd);
}
