#include "contact_bench.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "bench_flags.h"
#include "contact_closed_loop.h"
#include "contact_fill.h"
#include "contact_import.h"
#include "contact_people.h"
#include "contact_server.h"
#include "crm/base/status_macros.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/v1/contact_service.grpc.pb.h"
#include "crm/eventstore/event_store.h"
#include "fmt/format.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "run_control.h"
#include "scratch_dir.h"

namespace crm::bench {
namespace {

namespace v1 = contact::v1;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr char kTenant[] = "bench";
constexpr char kActor[] = "bench-user";
// Each call's deadline; far above any latency we expect, so a call that
// hits it is an error worth seeing, not a slow sample.
constexpr absl::Duration kCallTimeout = absl::Seconds(20);

// A client context for one call: deadline kCallTimeout from now, the
// bench's tenant and actor.
std::unique_ptr<grpc::ClientContext> BenchContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + kCallTimeout));
  context->AddMetadata(contact::api::kTenantKey, kTenant);
  context->AddMetadata(contact::api::kActorKey, kActor);
  return context;
}

// What the loads vary by and what stays fixed for one run.
struct Plan {
  absl::Duration load;
  absl::Duration warmup;
  size_t in_flight;
  size_t read_in_flight;
  size_t channels;
  uint64_t contacts;
  size_t fill_batch;
  uint64_t import_rows;
};

Plan PlanOf(const ContactBenchFlags& flags) {
  Plan plan;
  plan.load = absl::Seconds(flags.quick ? 1.0 : flags.seconds);
  plan.warmup = flags.quick ? absl::Milliseconds(100) : absl::Seconds(1);
  plan.in_flight = flags.in_flight;
  plan.read_in_flight = flags.read_in_flight;
  plan.channels = flags.channels;
  plan.contacts = flags.quick ? 2'000 : flags.contacts;
  plan.fill_batch = flags.fill_batch;
  plan.import_rows = flags.quick ? 2'000 : flags.import_rows;
  return plan;
}

bool Wanted(const ContactBenchFlags& flags, const std::string& scenario) {
  return flags.scenarios.empty() ||
         std::find(flags.scenarios.begin(), flags.scenarios.end(), scenario) !=
             flags.scenarios.end();
}

// splitmix64: spreads call numbers over the stored contacts.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The client side of one run: stubs over `channels` channels.
struct Clients {
  std::vector<std::unique_ptr<v1::ContactService::Stub>> contact;
  std::vector<std::unique_ptr<Health::Stub>> health;

  static Clients Connect(const BenchContactServer& server, size_t channels) {
    Clients clients;
    for (size_t i = 0; i < channels; ++i) {
      std::shared_ptr<grpc::Channel> channel =
          server.NewChannel(static_cast<int>(i));
      clients.contact.push_back(v1::ContactService::NewStub(channel));
      clients.health.push_back(Health::NewStub(channel));
    }
    return clients;
  }
};

// Per slot of a load: the request and response of its call, and its client
// contexts. The context of a call is released two calls later, never inside
// its own completion callback.
template <typename Request, typename Response>
struct Slot {
  std::array<std::unique_ptr<grpc::ClientContext>, 2> contexts;
  int turn = 0;
  Request request;
  Response response;

  grpc::ClientContext* NextContext() {
    turn ^= 1;
    contexts[turn] = BenchContext();
    return contexts[turn].get();
  }
};

// Runs a closed loop of one unary method, `fill(request, seq)` making each
// request and `call(stub_index, context, request, response, callback)`
// starting it; `seen(response)` is called for each OK response.
template <typename Request, typename Response, typename Fill, typename Call,
          typename Seen>
absl::StatusOr<ClosedLoopRun> RunUnary(const ClosedLoopOptions& options,
                                       size_t stubs, Fill fill, Call call,
                                       Seen seen) {
  std::vector<Slot<Request, Response>> slots(options.in_flight);
  ASSIGN_OR_RETURN(
      ClosedLoopRun run,
      RunClosedLoop(options, [&](size_t index, uint64_t seq, CallDone done) {
        Slot<Request, Response>& slot = slots[index];
        fill(slot.request, seq);
        slot.response.Clear();
        call(index % stubs, slot.NextContext(), &slot.request, &slot.response,
             [&slot, &seen, done = std::move(done)](grpc::Status status) {
               if (status.ok()) seen(slot.response);
               done(status);
             });
      }));
  if (run.errors > 0) {
    return absl::InternalError(fmt::format(
        "{} of {} calls failed, the first with {}; see the server's log "
        "above",
        run.errors, run.errors + run.calls, run.first_error));
  }
  if (run.calls == 0) {
    return absl::InternalError("no call finished; raise --seconds");
  }
  return run;
}

auto Ignore = [](const auto&) {};

absl::StatusOr<ClosedLoopRun> RunHealth(Clients& clients, size_t in_flight,
                                        absl::Duration duration) {
  return RunUnary<HealthCheckRequest, HealthCheckResponse>(
      {.in_flight = in_flight, .duration = duration}, clients.health.size(),
      [](HealthCheckRequest&, uint64_t) {},
      [&](size_t stub, grpc::ClientContext* context,
          const HealthCheckRequest* request, HealthCheckResponse* response,
          std::function<void(grpc::Status)> callback) {
        clients.health[stub]->async()->Check(context, request, response,
                                             std::move(callback));
      },
      Ignore);
}

// The health check before and after a load, merged, as the load's ceiling:
// both see the same state of the machine on average.
struct Ceiling {
  uint64_t calls = 0;
  absl::Duration elapsed;
  LatencyRecorder latency;

  void Add(const ClosedLoopRun& run) {
    calls += run.calls;
    elapsed += run.elapsed;
    latency.Merge(run.latency);
  }
  double rate() const {
    return static_cast<double>(calls) / absl::ToDoubleSeconds(elapsed);
  }
};

absl::StatusOr<Ceiling> MeasureCeiling(Clients& clients, size_t in_flight,
                                       absl::Duration duration) {
  Ceiling ceiling;
  ASSIGN_OR_RETURN(ClosedLoopRun run,
                   RunHealth(clients, in_flight, duration / 2));
  ceiling.Add(run);
  return ceiling;
}

void PrintCeiling(BenchReporter& reporter, const Ceiling& ceiling,
                  nlohmann::ordered_json config) {
  BenchResult result;
  result.bench = "contact.health_check";
  result.config = std::move(config);
  result.value = ceiling.rate();
  result.unit = "requests/s";
  result.latency = ceiling.latency;
  reporter.Print(result);
}

// ---- create ----------------------------------------------------------------

absl::Status RunCreate(const Plan& plan, ScratchDir& scratch,
                       BenchReporter& reporter) {
  Log("contact: create: starting the service");
  ASSIGN_OR_RETURN(
      std::unique_ptr<BenchContactServer> server,
      BenchContactServer::Start(scratch.Sub("create"), absl::Minutes(1)));
  Clients clients = Clients::Connect(*server, plan.channels);

  auto create = [&](absl::Duration duration, uint64_t first_seq) {
    return RunUnary<v1::CreateContactRequest, v1::CreateContactResponse>(
        {.in_flight = plan.in_flight, .duration = duration},
        clients.contact.size(),
        [first_seq](v1::CreateContactRequest& request, uint64_t seq) {
          const SyntheticPerson person = PersonAt(first_seq + seq, "created");
          request.Clear();
          v1::Contact& contact = *request.mutable_contact();
          contact.set_given_name(person.given_name);
          contact.set_family_name(person.family_name);
          contact.add_emails()->set_address(person.email);
          contact.set_owner(person.owner);
        },
        [&](size_t stub, grpc::ClientContext* context,
            const v1::CreateContactRequest* request,
            v1::CreateContactResponse* response,
            std::function<void(grpc::Status)> callback) {
          clients.contact[stub]->async()->CreateContact(
              context, request, response, std::move(callback));
        },
        Ignore);
  };

  Log("contact: create: warming up");
  RETURN_IF_ERROR(create(plan.warmup, 1'000'000'000).status());
  RETURN_IF_ERROR(RunHealth(clients, plan.in_flight, plan.warmup).status());

  Log("contact: create: health check, CreateContact, health check; %d in "
      "flight, %s each",
      plan.in_flight, absl::FormatDuration(plan.load));
  ASSIGN_OR_RETURN(Ceiling ceiling,
                   MeasureCeiling(clients, plan.in_flight, plan.load));
  ASSIGN_OR_RETURN(ClosedLoopRun created, create(plan.load, 0));
  ASSIGN_OR_RETURN(ClosedLoopRun after,
                   RunHealth(clients, plan.in_flight, plan.load / 2));
  ceiling.Add(after);

  const nlohmann::ordered_json config = {
      {"in_flight", plan.in_flight},
      {"channels", plan.channels},
      {"seconds", absl::ToDoubleSeconds(plan.load)},
      {"sync", true}};
  PrintCeiling(reporter, ceiling, config);
  BenchResult result;
  result.bench = "contact.create";
  result.config = config;
  result.value = created.CallsPerSecond();
  result.unit = "requests/s";
  result.ceiling = ceiling.rate();
  result.latency = created.latency;
  reporter.Print(result);
  return absl::OkStatus();
}

// ---- reads at scale --------------------------------------------------------

// One read method measured at one concurrency.
struct ReadCase {
  std::string bench;  // "contact.get", "contact.list"
  nlohmann::ordered_json config;
  std::function<absl::StatusOr<ClosedLoopRun>(const ClosedLoopOptions&,
                                              std::atomic<uint64_t>& returned)>
      run;
};

absl::Status RunReads(const Plan& plan, ScratchDir& scratch,
                      BenchReporter& reporter) {
  const std::string data_dir = scratch.Sub("read");
  ResetPeakRss();
  Log("contact: read: storing %d contacts", plan.contacts);
  FillResult filled;
  RETURN_IF_ERROR(FillContactStore(
      data_dir, [&](eventstore::EventStore& store) -> absl::Status {
        ASSIGN_OR_RETURN(filled, FillContacts(store, kTenant, plan.contacts,
                                              plan.fill_batch));
        return absl::OkStatus();
      }));
  Log("contact: read: stored in %s; the projections catch up",
      absl::FormatDuration(filled.elapsed));
  const absl::Time catch_up_start = absl::Now();
  ASSIGN_OR_RETURN(std::unique_ptr<BenchContactServer> server,
                   BenchContactServer::Start(data_dir, absl::Hours(1)));
  const absl::Duration catch_up = absl::Now() - catch_up_start;
  const std::optional<double> fill_rss = PeakRssMb();

  BenchResult fill;
  fill.bench = "contact.fill";
  fill.config = {{"contacts", plan.contacts}, {"batch", plan.fill_batch}};
  fill.value = static_cast<double>(filled.contacts) /
               absl::ToDoubleSeconds(filled.elapsed);
  fill.unit = "contacts/s";
  reporter.Print(fill);
  BenchResult caught_up;
  caught_up.bench = "contact.catch_up";
  caught_up.config = {{"contacts", plan.contacts},
                      {"events", filled.last_position}};
  caught_up.value = static_cast<double>(filled.last_position) /
                    absl::ToDoubleSeconds(catch_up);
  caught_up.unit = "events/s";
  caught_up.peak_rss_mb = fill_rss;
  reporter.Print(caught_up);

  Clients clients = Clients::Connect(*server, plan.channels);

  // The stored data must read back as stored (the fill writes keys the way
  // the service's key provider does; a drift would measure errors).
  {
    const uint64_t index = plan.contacts / 2;
    v1::GetContactRequest request;
    request.set_name(contact::ResourceName(contact::RecordType::kContact,
                                           ContactIdAt(index)));
    v1::Contact contact;
    std::unique_ptr<grpc::ClientContext> context = BenchContext();
    const grpc::Status status =
        clients.contact[0]->GetContact(context.get(), request, &contact);
    const SyntheticPerson person = PersonAt(index, "stored");
    if (!status.ok() || contact.given_name() != person.given_name ||
        contact.family_name() != person.family_name) {
      return absl::InternalError(fmt::format(
          "a stored contact does not read back as stored ({}: {}; got "
          "\"{} {}\", want \"{} {}\"); contact_fill.cc no longer stores "
          "contacts or keys as the service does",
          static_cast<int>(status.error_code()), status.error_message(),
          contact.given_name(), contact.family_name(), person.given_name,
          person.family_name));
    }
  }

  const uint64_t contacts = plan.contacts;
  std::vector<ReadCase> cases;
  cases.push_back(
      {"contact.get",
       {{"contacts", contacts}},
       [&](const ClosedLoopOptions& options, std::atomic<uint64_t>& returned) {
         return RunUnary<v1::GetContactRequest, v1::Contact>(
             options, clients.contact.size(),
             [contacts](v1::GetContactRequest& request, uint64_t seq) {
               request.set_name(
                   contact::ResourceName(contact::RecordType::kContact,
                                         ContactIdAt(Mix(seq) % contacts)));
             },
             [&](size_t stub, grpc::ClientContext* context,
                 const v1::GetContactRequest* request, v1::Contact* response,
                 std::function<void(grpc::Status)> callback) {
               clients.contact[stub]->async()->GetContact(
                   context, request, response, std::move(callback));
             },
             [&returned](const v1::Contact&) {
               returned.fetch_add(1, std::memory_order_relaxed);
             });
       }});
  // The list filters: owner (1 in kOwners contacts, spread over the whole
  // list order) and name prefix (a given name's first two letters: 1 in
  // 16, spread too; family names would be contiguous in the list order).
  auto list_case = [&](std::string filter, auto set_filter) {
    return ReadCase{
        "contact.list",
        {{"contacts", contacts}, {"page_size", 50}, {"filter", filter}},
        [&, set_filter](const ClosedLoopOptions& options,
                        std::atomic<uint64_t>& returned) {
          return RunUnary<v1::ListContactsRequest, v1::ListContactsResponse>(
              options, clients.contact.size(),
              [set_filter](v1::ListContactsRequest& request, uint64_t seq) {
                request.Clear();
                request.mutable_page()->set_page_size(50);
                set_filter(request, Mix(seq));
              },
              [&](size_t stub, grpc::ClientContext* context,
                  const v1::ListContactsRequest* request,
                  v1::ListContactsResponse* response,
                  std::function<void(grpc::Status)> callback) {
                clients.contact[stub]->async()->ListContacts(
                    context, request, response, std::move(callback));
              },
              [&returned](const v1::ListContactsResponse& response) {
                returned.fetch_add(
                    static_cast<uint64_t>(response.contacts_size()),
                    std::memory_order_relaxed);
              });
        }};
  };
  cases.push_back(
      list_case("owner", [](v1::ListContactsRequest& request, uint64_t pick) {
        request.set_owner(OwnerName(pick % kOwners));
      }));
  cases.push_back(list_case(
      "name_prefix", [](v1::ListContactsRequest& request, uint64_t pick) {
        request.set_name_prefix(
            std::string(kGivenNames[pick % kGivenNames.size()]).substr(0, 2));
      }));

  for (const size_t in_flight : {size_t{1}, plan.read_in_flight}) {
    RETURN_IF_ERROR(RunHealth(clients, in_flight, plan.warmup).status());
    ASSIGN_OR_RETURN(Ceiling ceiling,
                     MeasureCeiling(clients, in_flight, plan.load));
    std::vector<std::pair<ReadCase*, ClosedLoopRun>> runs;
    for (ReadCase& read : cases) {
      Log("contact: read: %s %s, %d in flight", read.bench, read.config.dump(),
          in_flight);
      std::atomic<uint64_t> returned{0};
      RETURN_IF_ERROR(
          read.run({.in_flight = in_flight, .duration = plan.warmup}, returned)
              .status());
      returned = 0;
      ASSIGN_OR_RETURN(
          ClosedLoopRun run,
          read.run({.in_flight = in_flight, .duration = plan.load}, returned));
      if (read.bench == "contact.list") {
        // How full the pages were: a filter that matches little returns
        // short pages within its scan bound (ContactListQuery::max_scan).
        read.config["contacts_per_page"] =
            static_cast<double>(returned.load()) /
            static_cast<double>(run.calls);
      }
      runs.emplace_back(&read, std::move(run));
    }
    ASSIGN_OR_RETURN(ClosedLoopRun after,
                     RunHealth(clients, in_flight, plan.load / 2));
    ceiling.Add(after);
    PrintCeiling(reporter, ceiling, {{"in_flight", in_flight}});
    for (auto& [read, run] : runs) {
      BenchResult result;
      result.bench = read->bench;
      result.config = read->config;
      result.config["in_flight"] = in_flight;
      result.value = run.CallsPerSecond();
      result.unit = "requests/s";
      result.ceiling = ceiling.rate();
      result.latency = run.latency;
      reporter.Print(result);
    }
  }
  return absl::OkStatus();
}

// ---- import ----------------------------------------------------------------

absl::Status RunImportScenario(const Plan& plan, ScratchDir& scratch,
                               BenchReporter& reporter) {
  Log("contact: import: starting the service");
  ASSIGN_OR_RETURN(
      std::unique_ptr<BenchContactServer> server,
      BenchContactServer::Start(scratch.Sub("import"), absl::Minutes(1)));
  Clients clients = Clients::Connect(*server, 1);
  absl::StatusOr<ImportRun> probe = RunImport(
      *clients.contact[0], BenchContext(), "bench-probe", 10, kCallTimeout);
  if (absl::IsUnimplemented(probe.status())) {
    Log("contact: import: skipped, the service does not serve "
        "ImportContacts yet (%s)",
        probe.status().message());
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(probe.status());

  Log("contact: import: %d rows", plan.import_rows);
  ResetPeakRss();
  ASSIGN_OR_RETURN(ImportRun run,
                   RunImport(*clients.contact[0], BenchContext(),
                             "bench-import", plan.import_rows, absl::Hours(2)));
  BenchResult result;
  result.bench = "contact.import";
  result.config = {{"rows", plan.import_rows},
                   {"dedupe_rule", "always_create"}};
  result.value =
      static_cast<double>(run.rows) / absl::ToDoubleSeconds(run.elapsed);
  result.unit = "rows/s";
  result.peak_rss_mb = PeakRssMb();
  reporter.Print(result);
  return absl::OkStatus();
}

}  // namespace

void AddContactFlags(CLI::App& command, ContactBenchFlags& flags) {
  command.add_flag("--quick", flags.quick,
                   "Small counts and 1 s loads: a smoke run in seconds");
  command
      .add_option("--scenario", flags.scenarios,
                  "Run only these: create, read, import (repeatable; "
                  "default all)")
      ->check(CLI::IsMember({"create", "read", "import"}));
  command
      .add_option("--seconds", flags.seconds, "Length of each measured load")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  command
      .add_option("--in-flight", flags.in_flight,
                  "CreateContact calls outstanding at all times")
      ->check(CLI::Range(size_t{1}, size_t{4096}))
      ->capture_default_str();
  command
      .add_option("--read-in-flight", flags.read_in_flight,
                  "Reads outstanding in the loaded read runs (they also run "
                  "at 1)")
      ->check(CLI::Range(size_t{1}, size_t{4096}))
      ->capture_default_str();
  command
      .add_option("--channels", flags.channels,
                  "Client channels (TCP connections) the calls are spread "
                  "over")
      ->check(CLI::Range(size_t{1}, size_t{64}))
      ->capture_default_str();
  command
      .add_option("--contacts", flags.contacts, "Contacts stored for the reads")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}))
      ->capture_default_str();
  command
      .add_option("--fill-batch", flags.fill_batch,
                  "Contacts per AppendMulti when storing them for the reads")
      ->check(CLI::Range(size_t{1}, size_t{10'000}))
      ->capture_default_str();
  command.add_option("--import-rows", flags.import_rows, "Rows imported")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}))
      ->capture_default_str();
  AddScratchDirFlag(command, flags.dir);
}

absl::Status RunContactBench(const ContactBenchFlags& flags,
                             BenchReporter& reporter) {
  const Plan plan = PlanOf(flags);
  ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Create(flags.dir));
  if (Wanted(flags, "create")) {
    RETURN_IF_ERROR(RunCreate(plan, scratch, reporter));
    scratch.RemoveSub("create");
  }
  if (Wanted(flags, "read")) {
    RETURN_IF_ERROR(RunReads(plan, scratch, reporter));
    scratch.RemoveSub("read");
  }
  if (Wanted(flags, "import")) {
    RETURN_IF_ERROR(RunImportScenario(plan, scratch, reporter));
    scratch.RemoveSub("import");
  }
  return absl::OkStatus();
}

}  // namespace crm::bench
