// The standard settings' names (flag and variable), help texts and where
// their raw values go: one table for CommandLine (which defines the flags)
// and ValidateServerSettings (whose messages name them). Internal to
// libs/server.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "crm/server/config.h"

namespace crm::server {

struct StandardSetting {
  const char* flag;                    // "--grpc-listen"
  const char* env;                     // "CRM_GRPC_LISTEN"
  std::string ServerSettings::*value;  // Where CommandLine stores it.
  const char* help;
};

inline constexpr StandardSetting kDataDir{
    "--data-dir", "CRM_DATA_DIR", &ServerSettings::data_dir,
    "Directory of the service's data (created if missing)"};
inline constexpr StandardSetting kGrpcListen{
    "--grpc-listen", "CRM_GRPC_LISTEN", &ServerSettings::grpc_listen,
    "gRPC address, host:port (port 0: any free port)"};
inline constexpr StandardSetting kMetricsListen{
    "--metrics-listen", "CRM_METRICS_LISTEN", &ServerSettings::metrics_listen,
    "Address of the Prometheus /metrics endpoint, host:port"};
inline constexpr StandardSetting kKafkaBootstrap{
    "--kafka-bootstrap", "CRM_KAFKA_BOOTSTRAP",
    &ServerSettings::kafka_bootstrap,
    "Kafka bootstrap servers, host:port,...; empty: embedded bus"};
inline constexpr StandardSetting kLogLevel{"--log-level", "CRM_LOG_LEVEL",
                                           &ServerSettings::log_level,
                                           "trace, debug, info, warn or error"};
inline constexpr StandardSetting kReadyFile{
    "--ready-file", "CRM_READY_FILE", &ServerSettings::ready_file,
    "Once serving, write the bound addresses there as JSON"};
inline constexpr StandardSetting kTlsCert{
    "--tls-cert-file", "CRM_TLS_CERT_FILE", &ServerSettings::tls_cert_file,
    "PEM certificate chain of the gRPC port; with a key: TLS only"};
inline constexpr StandardSetting kTlsKey{"--tls-key-file", "CRM_TLS_KEY_FILE",
                                         &ServerSettings::tls_key_file,
                                         "PEM private key of the certificate"};
inline constexpr StandardSetting kTlsClientCa{
    "--tls-client-ca-file", "CRM_TLS_CLIENT_CA_FILE",
    &ServerSettings::tls_client_ca_file,
    "PEM CA certificates; when given, clients must present a certificate "
    "they signed (mutual TLS)"};
inline constexpr StandardSetting kMaxMessage{
    "--max-message-bytes", "CRM_MAX_MESSAGE_BYTES",
    &ServerSettings::max_message_bytes,
    "Largest gRPC message received or sent, e.g. 4MiB (1KiB to 1GiB)"};
inline constexpr StandardSetting kShutdownGrace{
    "--shutdown-grace", "CRM_SHUTDOWN_GRACE", &ServerSettings::shutdown_grace,
    "Time SIGTERM may take to drain calls and close, e.g. 25s"};

inline constexpr StandardSetting kHandlerThreads{
    "--handler-threads", "CRM_HANDLER_THREADS",
    &ServerSettings::handler_threads,
    "Threads that run request handlers (1 to 1024); more lets more slow "
    "calls wait at once"};

// In the order of --help.
inline constexpr const StandardSetting* kStandardSettings[] = {
    &kDataDir,     &kGrpcListen, &kMetricsListen, &kKafkaBootstrap,
    &kLogLevel,    &kReadyFile,  &kTlsCert,       &kTlsKey,
    &kTlsClientCa, &kMaxMessage, &kShutdownGrace, &kHandlerThreads};

// INVALID_ARGUMENT "--grpc-listen (CRM_GRPC_LISTEN): <what>".
absl::Status InvalidSetting(const StandardSetting& setting,
                            std::string_view what);
// The same, with `cause`'s message as <what>.
absl::Status InvalidSetting(const StandardSetting& setting,
                            const absl::Status& cause);

}  // namespace crm::server
