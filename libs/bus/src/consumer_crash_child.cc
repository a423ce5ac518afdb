// The child process of consumer_crash_test.cc: consumes crm.sales.events.v1
// from the test's mock cluster into its own store with a VersionHandler
// until it is killed, or (with "drain") until it has caught up.
//
//   consumer_crash_child STORE_PATH BOOTSTRAP [drain]
//
// Prints "assigned" once it holds partitions and, in drain mode, "drained"
// before it exits 0. Exit 2: bad arguments or setup; 3: timed out.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "crm/bus/bus.h"
#include "crm/eventstore/event_store.h"
#include "version_handler.h"

namespace {

int Fail(const std::string& what, const absl::Status& status) {
  std::cerr << "consumer_crash_child: " << what << ": " << status << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: consumer_crash_child STORE_PATH BOOTSTRAP [drain]\n";
    return 2;
  }
  const bool drain = argc > 3 && std::string(argv[3]) == "drain";
  crm::eventstore::EventStore::Options store_options;
  store_options.path = argv[1];
  store_options.sync = false;  // A process kill loses no written data.
  auto store = crm::eventstore::EventStore::Open(store_options);
  if (!store.ok()) return Fail("opening the store", store.status());
  auto family = (*store)->CreateColumnFamily("contact_quotes");
  if (!family.ok()) return Fail("creating the family", family.status());
  crm::bus::test_util::VersionHandler handler(**family);

  std::unique_ptr<crm::bus::Bus> bus = crm::bus::NewKafkaBus({
      {"bootstrap.servers", argv[2]},
      // The killed child's membership expires after 6 s (the mock's
      // shortest), then the next one gets its partitions.
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "500"},
      {"log_level", "3"},
  });
  crm::bus::ConsumerOptions options;
  options.service = "contact";
  options.purpose = "quotes";
  options.sources = {"sales"};
  options.max_batch_events = 64;  // Many commits: many places to die.
  auto consumer = bus->StartConsumer(**store, handler, options);
  if (!consumer.ok()) return Fail("starting the consumer", consumer.status());

  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  while ((*consumer)->status().partitions.empty()) {
    if (absl::Now() > deadline) return 3;
    absl::SleepFor(absl::Milliseconds(10));
  }
  std::printf("assigned\n");
  std::fflush(stdout);
  if (!drain) {
    absl::SleepFor(absl::Seconds(120));  // Killed long before.
    return 3;
  }
  absl::Status caught_up = (*consumer)->WaitUntilCaughtUp(absl::Seconds(90));
  if (!caught_up.ok()) return Fail("catching up", caught_up);
  if ((*consumer)->status().dead_lettered != 0) {
    return Fail("dead letters", (*consumer)->status().last_error);
  }
  consumer->reset();
  std::printf("drained\n");
  std::fflush(stdout);
  return 0;
}
