// CommandLine: a server binary's flags, environment variables and --help.
//
// Defines the standard settings (config.h) on a CLI11 app, each with its
// CRM_* variable; the service adds its own flags to the same app, so that one
// --help lists everything and Describe() prints everything at start.
//
//   int main(int argc, char** argv) {
//     crm::server::CommandLine command_line("contact", "CRM contact service");
//     int snapshot_every = 100;
//     command_line.app()
//         .add_option("--snapshot-every", snapshot_every, "Events per
//         snapshot")
//         ->envname("CRM_SNAPSHOT_EVERY")
//         ->capture_default_str();
//     std::string jwt_key;
//     command_line.AddSecretOption("--jwt-key", jwt_key, "CRM_JWT_KEY",
//                                  "HMAC key of the bearer tokens");
//     // Exits on --help (0) or an invalid setting (2); otherwise starts the
//     // JSON logs and logs every setting, secrets masked.
//     const crm::server::ServerConfig& config =
//         command_line.ParseOrExit(argc, argv);
//     ... validate the service's own flags, then run (service_host.h) ...
//   }
//
// Thread safety: none; use it from main before starting threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "crm/server/config.h"

namespace CLI {
class App;
}  // namespace CLI

namespace crm::server {

// One setting as the process sees it, for the startup log line.
struct SettingDescription {
  std::string flag;  // "--grpc-listen"
  std::string env;   // "CRM_GRPC_LISTEN"; empty when the option has none.
  // The value, or "<redacted>" for a secret that is set.
  std::string value;
  // Where the value came from: "flag", "env" or "default".
  std::string source;
};

class CommandLine {
 public:
  // `service`: the service's name ([a-z][a-z0-9-]*), e.g. "contact";
  // `description` heads --help.
  CommandLine(std::string service, std::string description);
  ~CommandLine();

  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // The CLI11 app holding the standard flags; add the service's own flags
  // here before Parse, each with ->envname("CRM_...") so that the variable
  // works too. Validate them after Parse.
  CLI::App& app();

  // Adds a string option whose value is a secret: Describe() prints it as
  // "<redacted>". Options whose name contains "password", "secret", "token"
  // or "credential" are treated as secrets too. Prefer a file or the
  // variable to the flag for secrets (flags show in the process list).
  void AddSecretOption(const std::string& flag, std::string& value,
                       const std::string& env, const std::string& help);

  // Whether --data-dir must be given. Default: true. For tools and test
  // binaries that keep no state.
  void set_data_dir_required(bool required);

  // Parses argv (and the environment, for the options not given as flags)
  // and validates the standard settings.
  // On success config() holds them, unless --help or -h was given: then
  // help_requested() is true and config() is unspecified.
  // Errors: INVALID_ARGUMENT with a message naming the flag (and variable)
  // at fault: an unknown flag, a missing value, or a value
  // ValidateServerSettings refuses.
  // REQUIRES: called once.
  absl::Status Parse(int argc, const char* const* argv);

  bool help_requested() const { return help_requested_; }
  // The --help text: usage, every flag with its variable and default.
  std::string Help() const;

  // The validated standard settings. REQUIRES: Parse returned OK.
  const ServerConfig& config() const { return config_; }

  // Every option (standard and the service's), in definition order, with
  // secrets masked. REQUIRES: Parse returned OK.
  std::vector<SettingDescription> Describe() const;

  // For main: Parse, then on --help print Help() to stdout and exit(0); on
  // an error print one JSON log line naming the setting to stderr and
  // exit(2). Otherwise starts logging (StartLogging(config())), logs one
  // "starting" line with the pid and every setting (Describe(): value and
  // source, secrets masked), and returns config().
  const ServerConfig& ParseOrExit(int argc, const char* const* argv);

 private:
  bool IsSecret(std::string_view flag) const;

  std::unique_ptr<CLI::App> app_;
  ServerSettings settings_;
  ServerConfig config_;
  std::vector<std::string> secret_flags_;
  bool help_requested_ = false;
};

}  // namespace crm::server
