// crm-dev-broker: librdkafka's mock Kafka cluster on loopback, with the
// suite's topics created, for local multi-process runs and tests.
//
//   crm-dev-broker --brokers 1 --partitions 4 --bootstrap-file /tmp/kafka
//
// Prints the bootstrap address ("127.0.0.1:port,...") as one line on stdout,
// writes it to --bootstrap-file (atomically: temp file, then rename), and runs
// until SIGTERM or SIGINT, then exits 0. Exit 1 when the cluster cannot be
// started or the file cannot be written; 2 for bad flags (CLI11).
//
// WARNING: a test tool. The mock keeps everything in memory and trims each
// partition to about 5 MiB; there is no persistence and no security.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "CLI/CLI.hpp"

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

int Run(int brokers, int partitions, const std::string& bootstrap_file) {
  // Block the stop signals before librdkafka starts its threads, so that
  // they all inherit the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

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
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, brokers);
  if (cluster == nullptr) {
    std::cerr << "crm-dev-broker: cannot start the mock cluster with "
              << brokers << " brokers; check that loopback is available\n";
    rd_kafka_destroy(handle);
    return 1;
  }
  int exit_code = 0;
  for (const char* service : kServices) {
    for (const char* kind : {"events", "dlq"}) {
      const std::string topic =
          std::string("crm.") + service + "." + kind + ".v1";
      const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
          cluster, topic.c_str(), partitions, brokers < 3 ? brokers : 3);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::cerr << "crm-dev-broker: cannot create topic " << topic << ": "
                  << rd_kafka_err2str(err) << '\n';
        exit_code = 1;
      }
    }
  }
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  if (exit_code == 0 && !bootstrap_file.empty() &&
      !WriteFileAtomically(bootstrap_file, bootstrap)) {
    exit_code = 1;
  }
  if (exit_code == 0) {
    std::cout << bootstrap << std::endl;
    int signal_number = 0;
    while (sigwait(&stop_signals, &signal_number) != 0) {
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(handle);
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "librdkafka's mock Kafka cluster on loopback, for dev and tests"};
  int brokers = 1;
  int partitions = 4;
  std::string bootstrap_file;
  app.add_option("--brokers", brokers, "Number of mock brokers")
      ->check(CLI::Range(1, 16));
  app.add_option("--partitions", partitions, "Partitions of each topic")
      ->check(CLI::Range(1, 256));
  app.add_option("--bootstrap-file", bootstrap_file,
                 "Also write the bootstrap address to this file");
  CLI11_PARSE(app, argc, argv);
  return Run(brokers, partitions, bootstrap_file);
}
