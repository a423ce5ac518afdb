// `crm-bench contact`: the contact service over gRPC (docs/benchmarks.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "CLI/App.hpp"
#include "absl/status/status.h"
#include "bench_report.h"

namespace crm::bench {

struct ContactBenchFlags {
  // Small counts and short runs, for a smoke run in seconds.
  bool quick = false;
  // "create", "read", "import"; empty: all.
  std::vector<std::string> scenarios;
  double seconds = 10;    // Each measured load (--quick: 1).
  size_t in_flight = 64;  // Calls outstanding in the create load.
  size_t channels = 4;    // Client channels (TCP connections) shared by them.
  // Calls outstanding in the read loads: each read is measured at 1 (its
  // latency alone) and at this number (under load).
  size_t read_in_flight = 64;
  uint64_t contacts = 1'000'000;     // Stored for the reads (--quick: 2,000).
  size_t fill_batch = 5'000;         // Contacts per AppendMulti when storing.
  uint64_t import_rows = 1'000'000;  // Rows imported (--quick: 2,000).
  std::string dir;                   // Parent of the scratch directory.
};

// Adds the flags of `crm-bench contact` to `command`, with their checks.
void AddContactFlags(CLI::App& command, ContactBenchFlags& flags);

// Runs the scenarios, each against the contact service in this process on
// 127.0.0.1 (contact_server.h), and prints their results:
//  - contact.create: CreateContact, flags.in_flight calls outstanding;
//    ceiling: contact.health_check, grpc.health.v1 Check on the same server
//    and channels at the same concurrency (also printed on its own);
//  - contact.fill and contact.catch_up: storing flags.contacts contacts
//    directly and the projections catching up with them;
//  - contact.get, contact.list (filtered by owner, by name prefix): latency
//    at 1 call outstanding and at flags.read_in_flight, next to the health
//    check at the same concurrency;
//  - contact.import: rows/s of ImportContacts and the peak RSS (skipped
//    with a message while ImportContacts answers UNIMPLEMENTED).
absl::Status RunContactBench(const ContactBenchFlags& flags,
                             BenchReporter& reporter);

}  // namespace crm::bench
