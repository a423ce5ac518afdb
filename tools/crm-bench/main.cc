// crm-bench: the suite's benchmarks, one subcommand per area. Every figure is
// printed next to a ceiling measured in the same run, as a ratio; with --json
// stdout carries one JSON object per result and nothing else, and all
// messages go to stderr (docs/benchmarks.md, DESIGN.md §12).
//
//   crm-bench eventstore --json
//   crm-bench eventstore --scenario append_concurrent --writers 64
//   crm-bench projection --json
//   crm-bench relay --json
//   crm-bench contact --json
#include <cstdio>

#include "CLI/App.hpp"
#include "CLI/Config.hpp"
#include "CLI/Formatter.hpp"
#include "bench_report.h"
#include "contact_bench.h"
#include "crm/base/mutex_mode.h"
#include "eventstore_bench.h"
#include "projection_bench.h"
#include "relay_bench.h"
#include "run_control.h"

int main(int argc, char** argv) {
  crm::base::UseReleaseMutexMode();
  crm::bench::InstallStopHandlers();

  CLI::App app(
      "The suite's benchmarks. Each prints its figure next to a ceiling "
      "measured in the same run (docs/benchmarks.md).",
      "crm-bench");
  app.require_subcommand(1);

  bool json = false;
  CLI::App* eventstore = app.add_subcommand(
      "eventstore",
      "Event store: appends, read-all, subscription catch-up, recovery");
  eventstore->add_flag("--json", json,
                       "Print one JSON object per result on stdout and "
                       "nothing else");
  crm::bench::EventstoreBenchFlags eventstore_flags;
  crm::bench::AddEventstoreFlags(*eventstore, eventstore_flags);

  CLI::App* projection = app.add_subcommand(
      "projection", "Projection rebuild from the log, next to read-all");
  projection->add_flag("--json", json,
                       "Print one JSON object per result on stdout and "
                       "nothing else");
  crm::bench::ProjectionBenchFlags projection_flags;
  crm::bench::AddProjectionFlags(*projection, projection_flags);

  CLI::App* relay = app.add_subcommand(
      "relay", "Outbox relay to a mock Kafka cluster, next to a bare producer");
  relay->add_flag("--json", json,
                  "Print one JSON object per result on stdout and nothing "
                  "else");
  crm::bench::RelayBenchFlags relay_flags;
  crm::bench::AddRelayFlags(*relay, relay_flags);

  CLI::App* contact = app.add_subcommand(
      "contact",
      "Contact service over gRPC: create next to a health check, reads at "
      "scale, import");
  contact->add_flag("--json", json,
                    "Print one JSON object per result on stdout and nothing "
                    "else");
  crm::bench::ContactBenchFlags contact_flags;
  crm::bench::AddContactFlags(*contact, contact_flags);

  // The recovery scenario's child process; not for direct use.
  CLI::App* fill = app.add_subcommand(crm::bench::kFillCommand,
                                      "Internal: fills a store, then waits "
                                      "to be killed");
  fill->group("");
  crm::bench::EventstoreFillFlags fill_flags;
  crm::bench::AddEventstoreFillFlags(*fill, fill_flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }

  if (fill->parsed()) return crm::bench::RunEventstoreFill(fill_flags);

  crm::bench::BenchReporter reporter(json, stdout);
  if (eventstore->parsed()) {
    const absl::Status status =
        crm::bench::RunEventstoreBench(eventstore_flags, reporter);
    if (!status.ok()) {
      crm::bench::Log("eventstore: %s", status.ToString());
      return 1;
    }
  }
  if (projection->parsed()) {
    const absl::Status status =
        crm::bench::RunProjectionBench(projection_flags, reporter);
    if (!status.ok()) {
      crm::bench::Log("projection: %s", status.ToString());
      return 1;
    }
  }
  if (relay->parsed()) {
    const absl::Status status =
        crm::bench::RunRelayBench(relay_flags, reporter);
    if (!status.ok()) {
      crm::bench::Log("relay: %s", status.ToString());
      return 1;
    }
  }
  if (contact->parsed()) {
    const absl::Status status =
        crm::bench::RunContactBench(contact_flags, reporter);
    if (!status.ok()) {
      crm::bench::Log("contact: %s", status.ToString());
      return 1;
    }
  }
  return 0;
}
