// ServerConfig: the settings every CRM service process shares (DESIGN.md §10).
//
// Every server binary accepts the same standard settings, as a flag or a
// CRM_* environment variable (a flag beats its variable), so that scripts,
// the Helm chart and tests start any of them the same way:
//
//   flag                   variable                default
//   --data-dir             CRM_DATA_DIR            (required unless the
//                                                   binary says otherwise)
//   --grpc-listen          CRM_GRPC_LISTEN         0.0.0.0:50051
//   --metrics-listen       CRM_METRICS_LISTEN      0.0.0.0:9464
//   --kafka-bootstrap      CRM_KAFKA_BOOTSTRAP     "" (embedded bus)
//   --log-level            CRM_LOG_LEVEL           info
//   --ready-file           CRM_READY_FILE          "" (none)
//   --tls-cert-file        CRM_TLS_CERT_FILE       "" (plaintext)
//   --tls-key-file         CRM_TLS_KEY_FILE        ""
//   --tls-client-ca-file   CRM_TLS_CLIENT_CA_FILE  "" (no client certs)
//   --max-message-bytes    CRM_MAX_MESSAGE_BYTES   4MiB
//   --shutdown-grace       CRM_SHUTDOWN_GRACE      25s
//   --handler-threads      CRM_HANDLER_THREADS     64
//
// CommandLine (command_line.h) reads them; ValidateServerSettings turns the
// raw strings into a ServerConfig, failing on the first invalid value with a
// message that names the flag and its variable.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/server/log_level.h"

namespace crm::server {

// A listening address. Port 0 asks the system for a free port; the bound
// port is reported by the server (ServiceHost, MetricsEndpoint) and in the
// ready file.
struct HostPort {
  // A host name or an IP literal, without brackets ("0.0.0.0", "::",
  // "localhost", "10.0.0.7").
  std::string host;
  int port = 0;

  // "host:port", with brackets around an IPv6 literal ("[::1]:50051").
  std::string ToString() const;

  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// Parses "host:port" or "[ipv6]:port". The host must be non-empty and made
// of letters, digits, '.', '-' (and ':' inside brackets); the port a decimal
// number from 0 to 65535. Errors: INVALID_ARGUMENT saying what is wrong.
absl::StatusOr<HostPort> ParseHostPort(std::string_view text);

// Parses a size in bytes: a decimal number with an optional unit, B, KiB,
// MiB or GiB ("4194304", "4MiB", "512 KiB"). Errors: INVALID_ARGUMENT.
absl::StatusOr<size_t> ParseByteSize(std::string_view text);

// TLS for the gRPC port. With a certificate and key the server speaks TLS
// only; with a client CA as well it requires and verifies client
// certificates (mutual TLS). Files are PEM, read at start.
struct TlsFiles {
  std::string cert_file;       // Certificate chain, leaf first.
  std::string key_file;        // The leaf's private key (unencrypted).
  std::string client_ca_file;  // CAs that sign the clients' certificates.

  bool enabled() const { return !cert_file.empty(); }
};

// The validated standard settings.
struct ServerConfig {
  // The service's name ("contact"): in every log line and the ready file.
  std::string service;

  // Where the service keeps its RocksDB store and other state. When given,
  // it exists (it is created if missing) and is a writable directory.
  std::string data_dir;

  HostPort grpc_listen;
  HostPort metrics_listen;

  // Comma-separated Kafka bootstrap servers (host:port,...); empty means
  // the embedded in-process bus.
  std::string kafka_bootstrap;

  LogLevel log_level = LogLevel::kInfo;

  // Once the process is serving, the bound gRPC and metrics addresses are
  // written there as JSON (see service_host.h). Empty: no file.
  std::string ready_file;

  // Empty: plaintext gRPC.
  TlsFiles tls;

  // Largest gRPC message received or sent; larger ones fail the call with
  // RESOURCE_EXHAUSTED. From 1 KiB to 1 GiB.
  size_t max_message_bytes = 4 << 20;

  // How long SIGTERM may take: in-flight calls drain, then the shutdown
  // steps run, within this period. From 1 ms to 1 hour.
  absl::Duration shutdown_grace = absl::Seconds(25);

  // Threads that run the service's unary handlers (HandlerPool), so a
  // handler that waits (a synced write, a read model catching up) does not
  // hold one of gRPC's few callback threads. From 1 to 1024.
  size_t handler_threads = 64;
};

// The standard settings as given (flag, variable or default), before
// validation. Empty strings mean "not given" where a default applies.
struct ServerSettings {
  std::string service;
  std::string data_dir;
  std::string grpc_listen = "0.0.0.0:50051";
  std::string metrics_listen = "0.0.0.0:9464";
  std::string kafka_bootstrap;
  std::string log_level = "info";
  std::string ready_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  std::string max_message_bytes = "4MiB";
  std::string shutdown_grace = "25s";
  std::string handler_threads = "64";
  // Whether --data-dir must be given.
  bool data_dir_required = true;
};

// Validates `settings` and returns the ServerConfig, or INVALID_ARGUMENT for
// the first invalid value, with a message of the form
// "--grpc-listen (CRM_GRPC_LISTEN): <what is wrong> ..." naming the flag and
// variable. Checks: service name ([a-z][a-z0-9-]*); data dir required when
// data_dir_required, created if missing, a writable directory; listen
// addresses and each bootstrap server parse as host:port; the log level
// name; the ready file's directory exists and is writable; TLS certificate
// and key both given or neither, readable, valid PEM, the key matching the
// certificate; a client CA only with a certificate, readable, valid PEM;
// message size and grace period in range.
absl::StatusOr<ServerConfig> ValidateServerSettings(
    const ServerSettings& settings);

}  // namespace crm::server
