// crm-dev-broker: librdkafka's mock Kafka cluster on loopback, with the
// suite's topics created, for local multi-process runs and tests.
//
//   crm-dev-broker --brokers 3 --partitions 4 --bootstrap-file kafka.txt
//       --control-listen 127.0.0.1:0 --control-file kafka-control.txt
//
// Output, once the cluster is ready (stdout, one line each):
//   line 1: the bootstrap address, "127.0.0.1:port[,127.0.0.1:port...]"
//   line 2: only with --control-listen, the control address "127.0.0.1:port"
// --control-file and then --bootstrap-file get the same single lines
// (atomically: temp file, then rename), both before stdout is written, so a
// reader that waits for the bootstrap file finds the control file too.
//
// --control-listen opens the fault-injection port (control_server.h,
// control_commands.h): one command per line, one "ok ..." or "error ..."
// reply line each; loopback only. The process runs until SIGTERM or SIGINT,
// then closes the control port and the cluster and exits 0. Exit 1 when the
// cluster or the control port cannot be started or a file cannot be
// written; 2 for bad flags.
//
// WARNING: a test tool. The mock keeps everything in memory and trims each
// partition to about 5 MiB; there is no persistence and no security (the
// control port accepts anyone on the machine).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "CLI/CLI.hpp"
#include "control_commands.h"
#include "control_server.h"
#include "fmt/format.h"

namespace crm::dev_broker {
namespace {

constexpr std::array<const char*, 4> kServices = {"contact", "sales", "ticket",
                                                  "marketing"};

// Writes `line` to `path` through a temp file in the same directory and a
// rename, so a reader sees either no file or the whole line.
bool WriteFileAtomically(const std::string& path, const std::string& line) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << line << '\n';
    out.flush();
    if (!out) {
      std::cerr << "crm-dev-broker: cannot write " << temp
                << "; check that its directory exists and is writable\n";
      return false;
    }
  }
  std::error_code error;
  std::filesystem::rename(temp, path, error);
  if (error) {
    std::cerr << "crm-dev-broker: cannot rename " << temp << " to " << path
              << ": " << error.message() << '\n';
    return false;
  }
  return true;
}

struct Flags {
  int brokers = 1;
  int partitions = 4;
  std::string bootstrap_file;
  std::string control_listen;
  std::string control_file;
};

// Creates the suite's topics; false (with a message) when one fails.
bool CreateTopics(rd_kafka_mock_cluster_t* cluster, const Flags& flags) {
  bool ok = true;
  for (const char* service : kServices) {
    for (const char* kind : {"events", "dlq"}) {
      const std::string topic =
          std::string("crm.") + service + "." + kind + ".v1";
      const rd_kafka_resp_err_t err =
          rd_kafka_mock_topic_create(cluster, topic.c_str(), flags.partitions,
                                     flags.brokers < 3 ? flags.brokers : 3);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::cerr << "crm-dev-broker: cannot create topic " << topic << ": "
                  << rd_kafka_err2str(err) << '\n';
        ok = false;
      }
    }
  }
  return ok;
}

// Serves the cluster (and the control port, if listening) until
// SIGTERM/SIGINT; returns the exit code.
int Serve(rd_kafka_mock_cluster_t* cluster,
          std::unique_ptr<ControlServer> listening, const Flags& flags,
          const sigset_t& stop_signals) {
  const ControlCommands commands(cluster, flags.brokers);
  // Declared after `commands`, so its thread stops before `commands` goes.
  const std::unique_ptr<ControlServer> control = std::move(listening);
  if (control != nullptr) {
    control->Serve(
        [&commands](std::string_view line) { return commands.Execute(line); });
  }
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  if (control != nullptr && !flags.control_file.empty() &&
      !WriteFileAtomically(flags.control_file, control->address())) {
    return 1;
  }
  if (!flags.bootstrap_file.empty() &&
      !WriteFileAtomically(flags.bootstrap_file, bootstrap)) {
    return 1;
  }
  std::cout << bootstrap << '\n';
  if (control != nullptr) std::cout << control->address() << '\n';
  std::cout.flush();
  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  return 0;
}

int Run(const Flags& flags) {
  // Block the stop signals before librdkafka and the control server start
  // their threads, so that they all inherit the mask and only sigwait()
  // receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // The control port first: a taken port fails before any cluster starts.
  std::unique_ptr<ControlServer> control;
  if (!flags.control_listen.empty()) {
    absl::StatusOr<std::unique_ptr<ControlServer>> listening =
        ControlServer::Listen(flags.control_listen);
    if (!listening.ok()) {
      std::cerr << "crm-dev-broker: " << listening.status().message() << '\n';
      return 1;
    }
    control = *std::move(listening);
  }

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only owns the mock cluster; it never connects anywhere.
  rd_kafka_conf_set(conf, "bootstrap.servers", "", errstr, sizeof(errstr));
  rd_kafka_t* handle =
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (handle == nullptr) {
    std::cerr << "crm-dev-broker: cannot create the librdkafka handle: "
              << errstr << '\n';
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster =
      rd_kafka_mock_cluster_new(handle, flags.brokers);
  if (cluster == nullptr) {
    std::cerr << "crm-dev-broker: cannot start the mock cluster with "
              << flags.brokers
              << " brokers; check that loopback is available\n";
    rd_kafka_destroy(handle);
    return 1;
  }
  const int exit_code =
      CreateTopics(cluster, flags)
          ? Serve(cluster, std::move(control), flags, stop_signals)
          : 1;
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(handle);
  return exit_code;
}

}  // namespace
}  // namespace crm::dev_broker

int main(int argc, char** argv) {
  using crm::dev_broker::ControlCommands;
  using crm::dev_broker::ControlServer;
  using crm::dev_broker::ParseLoopbackAddress;
  CLI::App app{
      "librdkafka's mock Kafka cluster on loopback, for dev and tests.\n"
      "Prints the bootstrap address as line 1 of stdout and, with "
      "--control-listen, the control address as line 2."};
  crm::dev_broker::Flags flags;
  app.add_option("--brokers", flags.brokers,
                 "Number of mock brokers (ids 1..N)")
      ->check(CLI::Range(1, 16));
  app.add_option("--partitions", flags.partitions, "Partitions of each topic")
      ->check(CLI::Range(1, 256));
  app.add_option("--bootstrap-file", flags.bootstrap_file,
                 "Also write the bootstrap address to this file");
  CLI::Option* control_listen =
      app.add_option("--control-listen", flags.control_listen,
                     "Open the fault-injection port on this loopback "
                     "address, e.g. 127.0.0.1:0 (0: a free port)")
          ->check(
              [](const std::string& value) {
                const absl::StatusOr<sockaddr_in> parsed =
                    ParseLoopbackAddress(value);
                return parsed.ok() ? std::string()
                                   : std::string(parsed.status().message());
              },
              "LOOPBACK:PORT");
  app.add_option("--control-file", flags.control_file,
                 "Also write the control address to this file")
      ->needs(control_listen);
  const ControlServer::Options limits;
  app.footer(fmt::format(
      "Control protocol (--control-listen): send one command per line, read "
      "one reply\nline each: \"ok [detail]\" or \"error <message>\". At "
      "most {} connections, {}\nbytes per line. Commands:\n{}",
      limits.max_connections, limits.max_line_bytes, ControlCommands::Usage()));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help exits 0; every bad flag exits 2, whatever CLI11's own code.
    return app.exit(error) == 0 ? 0 : 2;
  }
  return crm::dev_broker::Run(flags);
}
