// The child process of projection_crash_test.cc: opens the store, runs the
// projection engine with test_util::CountingProjection and appends events as
// fast as it can, until the parent kills it with SIGKILL. It prints
// "started" on stdout once the engine runs.
//
// Usage: projection_crash_child <store path> [<version> <build batch bytes>
//        [<batch events> <projections>]]
// (default: version 1, the engine's default build batch, reads of 16
// events, one projection; with 3 projections they are named "counts",
// "counts_b" and "counts_c")
//
// It never returns; on an error it prints it to stderr and exits with 2.
#include <signal.h>
#include <sys/prctl.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "counting_projection.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/projection.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::cerr << "projection_crash_child: " << what << std::endl;
  _exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t version = 1;
  crm::projection::ProjectionEngine::Options engine_options;
  // Small batches: many checkpoints, so kills land between and inside them.
  engine_options.batch_events = 16;
  engine_options.poll_interval = absl::Milliseconds(5);
  int projection_count = 1;
  if ((argc != 2 && argc != 4 && argc != 6) ||
      (argc >= 4 &&
       (!absl::SimpleAtoi(argv[2], &version) ||
        !absl::SimpleAtoi(argv[3], &engine_options.build_batch_bytes))) ||
      (argc == 6 && (!absl::SimpleAtoi(argv[4], &engine_options.batch_events) ||
                     !absl::SimpleAtoi(argv[5], &projection_count) ||
                     (projection_count != 1 && projection_count != 3)))) {
    std::cerr << "usage: projection_crash_child <store path> [<version> "
                 "<build batch bytes> [<batch events> <projections: 1 or "
                 "3>]]"
              << std::endl;
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // Never outlive the test.
  crm::eventstore::EventStore::Options options;
  options.path = argv[1];
  auto store = crm::eventstore::EventStore::Open(options);
  if (!store.ok()) Fail(store.status().ToString());
  std::vector<std::unique_ptr<crm::projection::Projection>> projections;
  for (const char* name : {"counts", "counts_b", "counts_c"}) {
    if (static_cast<int>(projections.size()) == projection_count) break;
    projections.push_back(
        std::make_unique<crm::projection::test_util::CountingProjection>(
            version, nullptr, "", name));
  }
  auto engine = crm::projection::ProjectionEngine::Start(
      **store, std::move(projections), engine_options);
  if (!engine.ok()) Fail(engine.status().ToString());
  std::cout << "started" << std::endl;  // The parent may wait for this.
  for (uint64_t i = 0;; ++i) {
    crm::eventstore::Envelope event;
    event.set_type("test.Happened");
    event.set_payload(absl::StrCat("child-", i));
    auto appended =
        (*store)->Append(absl::StrCat("s", i % 13),
                         crm::eventstore::ExpectedVersion::Any(), {event});
    if (!appended.ok()) Fail(appended.status().ToString());
  }
}
