#include "crm/server/config.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "crm/base/status_macros.h"
#include "fmt/format.h"
#include "pem_files.h"
#include "standard_settings.h"

namespace crm::server {
namespace {

absl::string_view ToAbsl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
         c == '_';
}

bool IsIpv6Char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

absl::Status ValidateServiceName(const std::string& name) {
  bool valid = !name.empty() &&
               std::islower(static_cast<unsigned char>(name.front())) != 0;
  for (char c : name) {
    valid = valid && (std::islower(static_cast<unsigned char>(c)) ||
                      std::isdigit(static_cast<unsigned char>(c)) || c == '-');
  }
  if (!valid) {
    return absl::InvalidArgumentError(fmt::format(
        "service name \"{}\" is invalid: use lower-case letters, digits and "
        "'-', starting with a letter",
        name));
  }
  return absl::OkStatus();
}

absl::StatusOr<HostPort> ParseListen(const StandardSetting& setting,
                                     const std::string& text) {
  absl::StatusOr<HostPort> address = ParseHostPort(text);
  if (!address.ok()) {
    return InvalidSetting(setting, address.status());
  }
  return address;
}

// Creates `path` if missing; OK when it is then a writable directory.
absl::Status PrepareDataDir(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) {
    return InvalidSetting(
        kDataDir,
        fmt::format("cannot create directory {}: {}; give a writable location",
                    path, error.message()));
  }
  if (!std::filesystem::is_directory(path, error)) {
    return InvalidSetting(
        kDataDir, fmt::format("{} exists and is not a directory", path));
  }
  if (access(path.c_str(), W_OK | X_OK) != 0) {
    return InvalidSetting(kDataDir,
                          fmt::format("directory {} is not writable: {}", path,
                                      std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status CheckReadyFile(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  std::error_code error;
  if (!std::filesystem::is_directory(parent, error)) {
    return InvalidSetting(
        kReadyFile,
        fmt::format("directory {} of {} does not exist; create it first",
                    parent.string(), path));
  }
  if (access(parent.c_str(), W_OK | X_OK) != 0) {
    return InvalidSetting(kReadyFile,
                          fmt::format("directory {} is not writable: {}",
                                      parent.string(), std::strerror(errno)));
  }
  if (std::filesystem::is_directory(path, error)) {
    return InvalidSetting(kReadyFile, fmt::format("{} is a directory", path));
  }
  return absl::OkStatus();
}

absl::Status CheckKafkaBootstrap(const std::string& servers) {
  if (servers.empty()) return absl::OkStatus();
  for (absl::string_view server : absl::StrSplit(servers, ',')) {
    absl::StatusOr<HostPort> address =
        ParseHostPort(std::string_view(server.data(), server.size()));
    if (!address.ok()) {
      return InvalidSetting(
          kKafkaBootstrap,
          fmt::format("{}; give a comma-separated list of host:port, e.g. "
                      "kafka-0:9092,kafka-1:9092",
                      std::string(address.status().message())));
    }
    if (address->port == 0) {
      return InvalidSetting(
          kKafkaBootstrap,
          fmt::format("server \"{}\" has port 0", std::string(server)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TlsFiles> ValidateTls(const ServerSettings& settings) {
  TlsFiles tls{settings.tls_cert_file, settings.tls_key_file,
               settings.tls_client_ca_file};
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    const StandardSetting& missing = tls.cert_file.empty() ? kTlsCert : kTlsKey;
    return InvalidSetting(
        missing, fmt::format("missing: TLS needs both {} and {}", kTlsCert.flag,
                             kTlsKey.flag));
  }
  if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
    return InvalidSetting(
        kTlsClientCa,
        fmt::format("client certificates need TLS: give {} and {} too",
                    kTlsCert.flag, kTlsKey.flag));
  }
  if (!tls.enabled()) return tls;

  absl::StatusOr<std::string> cert = ReadWholeFile(tls.cert_file);
  if (!cert.ok()) {
    return InvalidSetting(kTlsCert, cert.status());
  }
  if (absl::Status status = CheckCertificates(*cert); !status.ok()) {
    return InvalidSetting(kTlsCert, fmt::format("{}: {}", tls.cert_file,
                                                std::string(status.message())));
  }
  absl::StatusOr<std::string> key = ReadWholeFile(tls.key_file);
  if (!key.ok()) {
    return InvalidSetting(kTlsKey, key.status());
  }
  if (absl::Status status = CheckPrivateKey(*cert, *key); !status.ok()) {
    return InvalidSetting(kTlsKey, fmt::format("{}: {}", tls.key_file,
                                               std::string(status.message())));
  }
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadWholeFile(tls.client_ca_file);
    if (!ca.ok()) {
      return InvalidSetting(kTlsClientCa, ca.status());
    }
    if (absl::Status status = CheckCertificates(*ca); !status.ok()) {
      return InvalidSetting(kTlsClientCa,
                            fmt::format("{}: {}", tls.client_ca_file,
                                        std::string(status.message())));
    }
  }
  return tls;
}

}  // namespace

absl::Status InvalidSetting(const StandardSetting& setting,
                            std::string_view what) {
  return absl::InvalidArgumentError(
      fmt::format("{} ({}): {}", setting.flag, setting.env, what));
}

absl::Status InvalidSetting(const StandardSetting& setting,
                            const absl::Status& cause) {
  return InvalidSetting(setting, std::string(cause.message()));
}

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

absl::StatusOr<HostPort> ParseHostPort(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format(
        "\"{}\" is not host:port ({}); e.g. 0.0.0.0:50051 or [::1]:0", text,
        why));
  };
  HostPort result;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return invalid("no closing ']'");
    result.host = std::string(text.substr(1, close - 1));
    for (char c : result.host) {
      if (!IsIpv6Char(c)) return invalid("bad character in the IPv6 address");
    }
    if (result.host.empty()) return invalid("empty host");
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return invalid("no ':port' after ']'");
    }
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return invalid("no ':port'");
    result.host = std::string(text.substr(0, colon));
    if (result.host.empty()) return invalid("empty host");
    for (char c : result.host) {
      if (!IsHostChar(c)) {
        return invalid(c == ':' ? "put an IPv6 address in brackets"
                                : "bad character in the host");
      }
    }
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return invalid("bad port");
  int value = 0;
  const auto [end, error] =
      std::from_chars(port.data(), port.data() + port.size(), value);
  if (error != std::errc() || end != port.data() + port.size() || value < 0 ||
      value > 65535) {
    return invalid("the port must be a number from 0 to 65535");
  }
  result.port = value;
  return result;
}

absl::StatusOr<size_t> ParseByteSize(std::string_view text) {
  const absl::string_view stripped = absl::StripAsciiWhitespace(ToAbsl(text));
  const std::string_view trimmed(stripped.data(), stripped.size());
  uint64_t number = 0;
  const char* const begin = trimmed.data();
  const char* const last = trimmed.data() + trimmed.size();
  const auto [end, error] = std::from_chars(begin, last, number);
  const auto invalid = [&] {
    return absl::InvalidArgumentError(fmt::format(
        "\"{}\" is not a size: give bytes with an optional unit B, KiB, MiB "
        "or GiB, e.g. 4MiB",
        text));
  };
  if (error != std::errc() || end == begin) return invalid();
  std::string unit(end, last);
  unit = std::string(absl::StripAsciiWhitespace(unit));
  uint64_t scale = 0;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "KiB") {
    scale = uint64_t{1} << 10;
  } else if (unit == "MiB") {
    scale = uint64_t{1} << 20;
  } else if (unit == "GiB") {
    scale = uint64_t{1} << 30;
  } else {
    return invalid();
  }
  if (number > (uint64_t{1} << 40) / scale) return invalid();
  return static_cast<size_t>(number * scale);
}

absl::StatusOr<ServerConfig> ValidateServerSettings(
    const ServerSettings& settings) {
  ServerConfig config;
  RETURN_IF_ERROR(ValidateServiceName(settings.service));
  config.service = settings.service;

  if (settings.data_dir.empty()) {
    if (settings.data_dir_required) {
      return InvalidSetting(
          kDataDir, "missing: give the directory for the service's data");
    }
  } else {
    RETURN_IF_ERROR(PrepareDataDir(settings.data_dir));
    config.data_dir = settings.data_dir;
  }

  ASSIGN_OR_RETURN(config.grpc_listen,
                   ParseListen(kGrpcListen, settings.grpc_listen));
  ASSIGN_OR_RETURN(config.metrics_listen,
                   ParseListen(kMetricsListen, settings.metrics_listen));
  if (config.metrics_listen.port != 0 &&
      config.metrics_listen.port == config.grpc_listen.port) {
    return InvalidSetting(
        kMetricsListen,
        fmt::format("port {} is also {}'s; give each its own port",
                    config.metrics_listen.port, kGrpcListen.flag));
  }

  RETURN_IF_ERROR(CheckKafkaBootstrap(settings.kafka_bootstrap));
  config.kafka_bootstrap = settings.kafka_bootstrap;

  absl::StatusOr<LogLevel> level = ParseLogLevel(settings.log_level);
  if (!level.ok()) {
    return InvalidSetting(kLogLevel, level.status());
  }
  config.log_level = *level;

  if (!settings.ready_file.empty()) {
    RETURN_IF_ERROR(CheckReadyFile(settings.ready_file));
    config.ready_file = settings.ready_file;
  }

  ASSIGN_OR_RETURN(config.tls, ValidateTls(settings));

  absl::StatusOr<size_t> max_message =
      ParseByteSize(settings.max_message_bytes);
  if (!max_message.ok()) {
    return InvalidSetting(kMaxMessage, max_message.status());
  }
  if (*max_message < (size_t{1} << 10) || *max_message > (size_t{1} << 30)) {
    return InvalidSetting(
        kMaxMessage, fmt::format("{} bytes is out of range: give 1KiB to 1GiB",
                                 *max_message));
  }
  config.max_message_bytes = *max_message;

  absl::Duration grace;
  if (!absl::ParseDuration(settings.shutdown_grace, &grace)) {
    return InvalidSetting(
        kShutdownGrace,
        fmt::format("\"{}\" is not a duration; e.g. 25s, 1m30s or 500ms",
                    settings.shutdown_grace));
  }
  if (grace < absl::Milliseconds(1) || grace > absl::Hours(1)) {
    return InvalidSetting(kShutdownGrace,
                          fmt::format("{} is out of range: give 1ms to 1h",
                                      absl::FormatDuration(grace)));
  }
  config.shutdown_grace = grace;

  uint32_t handler_threads = 0;
  if (!absl::SimpleAtoi(ToAbsl(settings.handler_threads), &handler_threads) ||
      handler_threads < 1 || handler_threads > 1024) {
    return InvalidSetting(
        kHandlerThreads,
        fmt::format("\"{}\" is not a thread count: give 1 to 1024",
                    settings.handler_threads));
  }
  config.handler_threads = handler_threads;
  return config;
}

}  // namespace crm::server
