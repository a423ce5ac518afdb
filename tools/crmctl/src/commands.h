// crmctl's commands. Each Add* registers subcommands on the app; parsing
// a command line selects one and stores what it runs in `action`, which
// main calls with a connected client and whose result is the exit code.
#pragma once

#include <functional>
#include <string>

#include "CLI/CLI.hpp"
#include "client.h"

namespace crm::crmctl {

using Action = std::function<int(Client&)>;

// create, get, list, update, delete, undelete, history.
void AddRecordCommands(CLI::App& app, Action& action);

// duplicates, merge, unmerge, erase, export, watch.
void AddDataCommands(CLI::App& app, Action& action);

// import: a CSV file streamed to ImportContacts.
void AddImportCommand(CLI::App& app, Action& action);

}  // namespace crm::crmctl
