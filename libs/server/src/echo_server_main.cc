// server_echo_server: the echo service in a process of its own, started the
// way every CRM server is (standard flags, ServiceHost), for libs/server's
// process test. Test-only.
#include <string>

#include "absl/status/status.h"
#include "crm/base/status_macros.h"
#include "crm/server/command_line.h"
#include "crm/server/logging.h"
#include "crm/server/metrics.h"
#include "crm/server/service_host.h"
#include "echo_service.h"

namespace {

absl::Status Run(const crm::server::ServerConfig& config) {
  ASSIGN_OR_RETURN(auto metrics,
                   crm::server::MetricsEndpoint::Start(config.metrics_listen));
  crm::server::testing::EchoServiceImpl echo;
  crm::server::ServiceHost::Options options;
  options.services = {&echo};
  options.shutdown_steps = {
      {"report calls left", [&echo](absl::Time /*deadline*/) {
         crm::server::LogInfo("calls left after drain",
                              {{"waiting_calls", echo.waiting_calls()}});
         return absl::OkStatus();
       }}};
  ASSIGN_OR_RETURN(auto host, crm::server::ServiceHost::Start(
                                  config, *metrics, std::move(options)));
  return host->Wait();
}

}  // namespace

int main(int argc, char** argv) {
  crm::server::CommandLine command_line("echo",
                                        "Echo server for libs/server's tests");
  command_line.set_data_dir_required(false);
  const crm::server::ServerConfig& config =
      command_line.ParseOrExit(argc, argv);
  const absl::Status status = Run(config);
  if (!status.ok()) {
    crm::server::LogError("exiting after an error",
                          {{"error", std::string(status.message())}});
    return 1;
  }
  return 0;
}
