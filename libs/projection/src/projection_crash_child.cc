// The child process of projection_crash_test.cc: opens the store, runs the
// projection engine with test_util::CountingProjection and appends events as
// fast as it can, until the parent kills it with SIGKILL.
//
// Usage: projection_crash_child <store path>
//
// It never returns; on an error it prints it to stderr and exits with 2.
#include <signal.h>
#include <sys/prctl.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

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
  if (argc != 2) {
    std::cerr << "usage: projection_crash_child <store path>" << std::endl;
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // Never outlive the test.
  crm::eventstore::EventStore::Options options;
  options.path = argv[1];
  auto store = crm::eventstore::EventStore::Open(options);
  if (!store.ok()) Fail(store.status().ToString());
  std::vector<std::unique_ptr<crm::projection::Projection>> projections;
  projections.push_back(
      std::make_unique<crm::projection::test_util::CountingProjection>(1));
  // Small batches: many checkpoints, so kills land between and inside them.
  auto engine = crm::projection::ProjectionEngine::Start(
      **store, std::move(projections),
      {.batch_events = 16, .poll_interval = absl::Milliseconds(5)});
  if (!engine.ok()) Fail(engine.status().ToString());
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
