// crmctl: the command line client of the CRM's contact service
// (docs/crmctl.md).
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "client.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace crm::crmctl;
  GlobalOptions global;
  CLI::App app{"crmctl: the command line client of the CRM contact service",
               "crmctl"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--server", global.server, "host:port of the contact service")
      ->envname("CRM_SERVER")
      ->capture_default_str();
  app.add_option("--tenant", global.tenant, "your tenant")
      ->envname("CRM_TENANT");
  app.add_option("--actor", global.actor, "your user id")->envname("CRM_ACTOR");
  app.add_flag("--json", global.json, "print one JSON object per line");
  app.add_option("--timeout", global.timeout_seconds,
                 "seconds each call may take")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  Action action;
  AddRecordCommands(app, action);
  AddDataCommands(app, action);
  AddImportCommand(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (!action) {
    std::cerr << app.help();
    return kExitUsage;
  }
  Client client(global);
  if (!client.Connect()) return client.ReportUnreachable();
  return action(client);
}
