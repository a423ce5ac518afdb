#include "crm/server/command_line.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "crm/server/logging.h"
#include "fmt/format.h"
#include "standard_settings.h"

namespace crm::server {
namespace {

constexpr char kRedacted[] = "<redacted>";

// Substrings of option names whose values are secrets.
constexpr const char* kSecretWords[] = {"password", "secret", "token",
                                        "credential"};

}  // namespace

CommandLine::CommandLine(std::string service, std::string description)
    : app_(std::make_unique<CLI::App>(std::move(description),
                                      "crm-" + service)) {
  settings_.service = std::move(service);
  for (const StandardSetting* setting : kStandardSettings) {
    app_->add_option(setting->flag, settings_.*(setting->value), setting->help)
        ->envname(setting->env)
        ->capture_default_str();
  }
}

CommandLine::~CommandLine() = default;

CLI::App& CommandLine::app() { return *app_; }

void CommandLine::AddSecretOption(const std::string& flag, std::string& value,
                                  const std::string& env,
                                  const std::string& help) {
  CLI::Option* option = app_->add_option(flag, value, help);
  if (!env.empty()) option->envname(env);
  secret_flags_.push_back(option->get_name());
}

void CommandLine::set_data_dir_required(bool required) {
  settings_.data_dir_required = required;
}

absl::Status CommandLine::Parse(int argc, const char* const* argv) {
  try {
    app_->parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    help_requested_ = true;
    return absl::OkStatus();
  } catch (const CLI::CallForAllHelp&) {
    help_requested_ = true;
    return absl::OkStatus();
  } catch (const CLI::ParseError& error) {
    return absl::InvalidArgumentError(
        fmt::format("{}; see --help", error.what()));
  } catch (const std::exception& error) {
    // A service option's own callback threw.
    return absl::InvalidArgumentError(
        fmt::format("{}; see --help", error.what()));
  }
  absl::StatusOr<ServerConfig> config = ValidateServerSettings(settings_);
  if (!config.ok()) return config.status();
  config_ = *std::move(config);
  return absl::OkStatus();
}

std::string CommandLine::Help() const { return app_->help(); }

bool CommandLine::IsSecret(std::string_view flag) const {
  for (const std::string& secret : secret_flags_) {
    if (secret == flag) return true;
  }
  const std::string lower =
      absl::AsciiStrToLower(absl::string_view(flag.data(), flag.size()));
  for (const char* word : kSecretWords) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

std::vector<SettingDescription> CommandLine::Describe() const {
  std::vector<SettingDescription> settings;
  for (const CLI::Option* option : app_->get_options()) {
    const std::string flag = option->get_name();
    if (flag == "--help" || flag.empty()) continue;
    SettingDescription setting;
    setting.flag = flag;
    setting.env = option->get_envname();
    const std::vector<std::string>& results = option->results();
    if (results.empty()) {
      setting.source = "default";
      setting.value = option->get_default_str();
    } else {
      setting.value = absl::StrJoin(results, ",");
      // CLI11 reads a variable only for an option absent from argv; the
      // variable's value in the results means it came from there.
      const char* env_value =
          setting.env.empty() ? nullptr : std::getenv(setting.env.c_str());
      setting.source = env_value != nullptr && results.size() == 1 &&
                               results.front() == env_value
                           ? "env"
                           : "flag";
    }
    if (IsSecret(flag) && !setting.value.empty()) setting.value = kRedacted;
    settings.push_back(std::move(setting));
  }
  return settings;
}

const ServerConfig& CommandLine::ParseOrExit(int argc,
                                             const char* const* argv) {
  const absl::Status status = Parse(argc, argv);
  if (help_requested_) {
    std::fputs(Help().c_str(), stdout);
    std::exit(0);
  }
  if (!status.ok()) {
    StartLogging(settings_.service, LogLevel::kInfo);
    LogError(fmt::format("invalid configuration: {}",
                         std::string(status.message())));
    std::exit(2);
  }
  StartLogging(config_);
  nlohmann::json described = nlohmann::json::object();
  for (const SettingDescription& setting : Describe()) {
    described[setting.flag] = {{"value", setting.value},
                               {"source", setting.source}};
  }
  LogInfo("starting", {{"pid", getpid()}, {"settings", std::move(described)}});
  return config_;
}

}  // namespace crm::server
