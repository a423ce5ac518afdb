#include "crm/server/config.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "crm/base/status_macros.h"
#include "crm/server/command_line.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server_test_util.h"
#include "store_test_util.h"
#include "test_certificates.h"

namespace crm::server {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kStandardVariables[] = {
    "CRM_DATA_DIR",          "CRM_GRPC_LISTEN",    "CRM_METRICS_LISTEN",
    "CRM_KAFKA_BOOTSTRAP",   "CRM_LOG_LEVEL",      "CRM_READY_FILE",
    "CRM_TLS_CERT_FILE",     "CRM_TLS_KEY_FILE",   "CRM_TLS_CLIENT_CA_FILE",
    "CRM_MAX_MESSAGE_BYTES", "CRM_SHUTDOWN_GRACE", "CRM_HANDLER_THREADS",
    "CRM_TEST_WIDGETS",      "CRM_TEST_API_KEY"};

class ServerConfigTest : public ::testing::Test {
 protected:
  ServerConfigTest() : dir_("server_config") {
    for (const char* name : kStandardVariables) env_.Unset(name);
  }

  std::string DataDir() const { return (dir_.path() / "data").string(); }

  // Parses `args` (after the program name) with `command_line`.
  static absl::Status Parse(CommandLine& command_line,
                            const std::vector<std::string>& args) {
    std::vector<const char*> argv = {"crm-test"};
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    return command_line.Parse(static_cast<int>(argv.size()), argv.data());
  }

  // Parses the standard flags plus --data-dir.
  absl::StatusOr<ServerConfig> ParseWithDataDir(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data-dir", DataDir()});
    CommandLine command_line("test", "test");
    RETURN_IF_ERROR(Parse(command_line, args));
    return command_line.config();
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = (dir_.path() / name).string();
    std::ofstream(path) << content;
    return path;
  }

  eventstore::test_util::ScratchDir dir_;
  test_util::ScopedEnv env_;
};

TEST_F(ServerConfigTest, ParseHostPortAcceptsNamesAddressesAndIpv6) {
  EXPECT_THAT(ParseHostPort("0.0.0.0:50051"),
              IsOkAndHolds(HostPort{"0.0.0.0", 50051}));
  EXPECT_THAT(ParseHostPort("localhost:0"),
              IsOkAndHolds(HostPort{"localhost", 0}));
  EXPECT_THAT(ParseHostPort("kafka-0.kafka.svc:9092"),
              IsOkAndHolds(HostPort{"kafka-0.kafka.svc", 9092}));
  EXPECT_THAT(ParseHostPort("[::1]:65535"),
              IsOkAndHolds(HostPort{"::1", 65535}));
  EXPECT_EQ((HostPort{"::", 80}).ToString(), "[::]:80");
  EXPECT_EQ((HostPort{"127.0.0.1", 80}).ToString(), "127.0.0.1:80");
}

TEST_F(ServerConfigTest, ParseHostPortRefusesMalformedAddresses) {
  for (const char* bad :
       {"", "50051", ":50051", "host:", "host:65536", "host:-1", "host:12a",
        "::1:80", "[::1]80", "[::1", "[]:80", "ho st:80", "host:123456"}) {
    EXPECT_THAT(ParseHostPort(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad)))
        << bad;
  }
}

TEST_F(ServerConfigTest, ParseByteSizeReadsUnits) {
  EXPECT_THAT(ParseByteSize("4194304"), IsOkAndHolds(4194304u));
  EXPECT_THAT(ParseByteSize("512B"), IsOkAndHolds(512u));
  EXPECT_THAT(ParseByteSize("16KiB"), IsOkAndHolds(16u << 10));
  EXPECT_THAT(ParseByteSize(" 4 MiB "), IsOkAndHolds(4u << 20));
  EXPECT_THAT(ParseByteSize("1GiB"), IsOkAndHolds(1u << 30));
  for (const char* bad :
       {"", "MiB", "4MB", "4 mib", "-1", "1.5MiB", "99999999999999GiB"}) {
    EXPECT_THAT(ParseByteSize(bad),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST_F(ServerConfigTest, DefaultsApplyWhenOnlyTheDataDirIsGiven) {
  ASSERT_OK_AND_ASSIGN(ServerConfig config, ParseWithDataDir({}));
  EXPECT_EQ(config.service, "test");
  EXPECT_EQ(config.data_dir, DataDir());
  EXPECT_EQ(config.grpc_listen, (HostPort{"0.0.0.0", 50051}));
  EXPECT_EQ(config.metrics_listen, (HostPort{"0.0.0.0", 9464}));
  EXPECT_EQ(config.kafka_bootstrap, "");
  EXPECT_EQ(config.log_level, LogLevel::kInfo);
  EXPECT_EQ(config.ready_file, "");
  EXPECT_FALSE(config.tls.enabled());
  EXPECT_EQ(config.max_message_bytes, 4u << 20);
  EXPECT_EQ(config.shutdown_grace, absl::Seconds(25));
  EXPECT_EQ(config.handler_threads, 64u);
}

TEST_F(ServerConfigTest, FlagsSetEverySetting) {
  const std::string ready = (dir_.path() / "ready.json").string();
  ASSERT_OK_AND_ASSIGN(
      ServerConfig config,
      ParseWithDataDir(
          {"--grpc-listen", "127.0.0.1:0", "--metrics-listen", "[::1]:9100",
           "--kafka-bootstrap", "kafka-0:9092,kafka-1:9092",
           "--log-level=debug", "--ready-file", ready, "--max-message-bytes",
           "16KiB", "--shutdown-grace", "1m30s", "--handler-threads", "8"}));
  EXPECT_EQ(config.grpc_listen, (HostPort{"127.0.0.1", 0}));
  EXPECT_EQ(config.metrics_listen, (HostPort{"::1", 9100}));
  EXPECT_EQ(config.kafka_bootstrap, "kafka-0:9092,kafka-1:9092");
  EXPECT_EQ(config.log_level, LogLevel::kDebug);
  EXPECT_EQ(config.ready_file, ready);
  EXPECT_EQ(config.max_message_bytes, 16u << 10);
  EXPECT_EQ(config.shutdown_grace, absl::Seconds(90));
  EXPECT_EQ(config.handler_threads, 8u);
}

TEST_F(ServerConfigTest, EnvironmentVariablesSetSettings) {
  env_.Set("CRM_DATA_DIR", DataDir());
  env_.Set("CRM_GRPC_LISTEN", "127.0.0.1:7001");
  env_.Set("CRM_METRICS_LISTEN", "127.0.0.1:7002");
  env_.Set("CRM_KAFKA_BOOTSTRAP", "broker:9092");
  env_.Set("CRM_LOG_LEVEL", "WARN");
  env_.Set("CRM_MAX_MESSAGE_BYTES", "1MiB");
  env_.Set("CRM_SHUTDOWN_GRACE", "3s");
  env_.Set("CRM_HANDLER_THREADS", "256");
  CommandLine command_line("test", "test");
  ASSERT_OK(Parse(command_line, {}));
  const ServerConfig& config = command_line.config();
  EXPECT_EQ(config.data_dir, DataDir());
  EXPECT_EQ(config.grpc_listen, (HostPort{"127.0.0.1", 7001}));
  EXPECT_EQ(config.metrics_listen, (HostPort{"127.0.0.1", 7002}));
  EXPECT_EQ(config.kafka_bootstrap, "broker:9092");
  EXPECT_EQ(config.log_level, LogLevel::kWarn);
  EXPECT_EQ(config.max_message_bytes, 1u << 20);
  EXPECT_EQ(config.shutdown_grace, absl::Seconds(3));
  EXPECT_EQ(config.handler_threads, 256u);
}

TEST_F(ServerConfigTest, FlagBeatsItsEnvironmentVariable) {
  env_.Set("CRM_GRPC_LISTEN", "127.0.0.1:7001");
  env_.Set("CRM_LOG_LEVEL", "error");
  ASSERT_OK_AND_ASSIGN(ServerConfig config,
                       ParseWithDataDir({"--grpc-listen", "127.0.0.1:7003"}));
  EXPECT_EQ(config.grpc_listen, (HostPort{"127.0.0.1", 7003}));
  EXPECT_EQ(config.log_level, LogLevel::kError);  // No flag: the variable.
}

TEST_F(ServerConfigTest, MissingDataDirNamesTheSetting) {
  CommandLine command_line("test", "test");
  EXPECT_THAT(Parse(command_line, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--data-dir (CRM_DATA_DIR): missing")));

  CommandLine stateless("test", "test");
  stateless.set_data_dir_required(false);
  EXPECT_OK(Parse(stateless, {}));
}

TEST_F(ServerConfigTest, DataDirIsCreatedAndMustBeADirectory) {
  const std::string nested = (dir_.path() / "a" / "b").string();
  CommandLine command_line("test", "test");
  ASSERT_OK(Parse(command_line, {"--data-dir", nested}));
  EXPECT_TRUE(std::filesystem::is_directory(nested));

  const std::string file = WriteFile("plain-file", "x");
  CommandLine refused("test", "test");
  EXPECT_THAT(
      Parse(refused, {"--data-dir", file}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("--data-dir (CRM_DATA_DIR)"), HasSubstr(file))));
}

TEST_F(ServerConfigTest, EachInvalidValueNamesItsSetting) {
  struct Case {
    std::vector<std::string> args;
    std::string setting;
  };
  const std::vector<Case> cases = {
      {{"--grpc-listen", "nohost"}, "--grpc-listen (CRM_GRPC_LISTEN)"},
      {{"--grpc-listen", "h:70000"}, "--grpc-listen (CRM_GRPC_LISTEN)"},
      {{"--metrics-listen", "h:"}, "--metrics-listen (CRM_METRICS_LISTEN)"},
      {{"--grpc-listen", "h:9000", "--metrics-listen", "h:9000"},
       "--metrics-listen (CRM_METRICS_LISTEN)"},
      {{"--kafka-bootstrap", "a:1,b"},
       "--kafka-bootstrap (CRM_KAFKA_BOOTSTRAP)"},
      {{"--kafka-bootstrap", "a:0"}, "--kafka-bootstrap (CRM_KAFKA_BOOTSTRAP)"},
      {{"--log-level", "loud"}, "--log-level (CRM_LOG_LEVEL)"},
      {{"--ready-file", "/nonexistent-dir/ready.json"},
       "--ready-file (CRM_READY_FILE)"},
      {{"--max-message-bytes", "lots"},
       "--max-message-bytes (CRM_MAX_MESSAGE_BYTES)"},
      {{"--max-message-bytes", "512"},
       "--max-message-bytes (CRM_MAX_MESSAGE_BYTES)"},
      {{"--max-message-bytes", "2GiB"},
       "--max-message-bytes (CRM_MAX_MESSAGE_BYTES)"},
      {{"--shutdown-grace", "soon"}, "--shutdown-grace (CRM_SHUTDOWN_GRACE)"},
      {{"--shutdown-grace", "0s"}, "--shutdown-grace (CRM_SHUTDOWN_GRACE)"},
      {{"--shutdown-grace", "2h"}, "--shutdown-grace (CRM_SHUTDOWN_GRACE)"},
      {{"--handler-threads", "many"},
       "--handler-threads (CRM_HANDLER_THREADS)"},
      {{"--handler-threads", "0"}, "--handler-threads (CRM_HANDLER_THREADS)"},
      {{"--handler-threads", "1025"},
       "--handler-threads (CRM_HANDLER_THREADS)"},
      {{"--handler-threads", "-4"}, "--handler-threads (CRM_HANDLER_THREADS)"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(
        ParseWithDataDir(c.args),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.setting)))
        << c.args[0] << " " << c.args[1];
  }
}

TEST_F(ServerConfigTest, InvalidEnvironmentValueNamesTheVariable) {
  env_.Set("CRM_LOG_LEVEL", "loud");
  EXPECT_THAT(ParseWithDataDir({}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("CRM_LOG_LEVEL"), HasSubstr("loud"))));
}

TEST_F(ServerConfigTest, UnknownFlagIsRefused) {
  EXPECT_THAT(
      ParseWithDataDir({"--grpc-lisen", "h:1"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--grpc-lisen")));
}

TEST_F(ServerConfigTest, HelpListsFlagsAndVariables) {
  CommandLine command_line("test", "A test service");
  ASSERT_OK(Parse(command_line, {"--help"}));
  EXPECT_TRUE(command_line.help_requested());
  const std::string help = command_line.Help();
  EXPECT_THAT(help, HasSubstr("A test service"));
  EXPECT_THAT(help, HasSubstr("--grpc-listen"));
  EXPECT_THAT(help, HasSubstr("CRM_GRPC_LISTEN"));
  EXPECT_THAT(help, HasSubstr("0.0.0.0:50051"));
}

TEST_F(ServerConfigTest, ServiceAddsItsOwnFlags) {
  CommandLine command_line("test", "test");
  int widgets = 3;
  command_line.app()
      .add_option("--widgets", widgets, "How many widgets")
      ->envname("CRM_TEST_WIDGETS")
      ->capture_default_str();
  env_.Set("CRM_TEST_WIDGETS", "5");
  ASSERT_OK(Parse(command_line, {"--data-dir", DataDir()}));
  EXPECT_EQ(widgets, 5);

  CommandLine with_flag("test", "test");
  with_flag.app()
      .add_option("--widgets", widgets, "How many widgets")
      ->envname("CRM_TEST_WIDGETS");
  ASSERT_OK(Parse(with_flag, {"--data-dir", DataDir(), "--widgets", "7"}));
  EXPECT_EQ(widgets, 7);

  CommandLine bad("test", "test");
  bad.app().add_option("--widgets", widgets, "How many widgets");
  EXPECT_THAT(
      Parse(bad, {"--data-dir", DataDir(), "--widgets", "many"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--widgets")));
}

TEST_F(ServerConfigTest, DescribeMasksSecretsAndNamesSources) {
  CommandLine command_line("test", "test");
  std::string api_key;
  command_line.AddSecretOption("--api-key", api_key, "CRM_TEST_API_KEY",
                               "Key of the partner API");
  std::string token;
  command_line.app().add_option("--partner-token", token, "Partner token");
  env_.Set("CRM_TEST_API_KEY", "hunter2-from-env");
  env_.Set("CRM_LOG_LEVEL", "debug");
  ASSERT_OK(Parse(command_line, {"--data-dir", DataDir(), "--partner-token",
                                 "hunter3-from-flag"}));
  EXPECT_EQ(api_key, "hunter2-from-env");
  EXPECT_EQ(token, "hunter3-from-flag");

  std::map<std::string, SettingDescription> by_flag;
  for (const SettingDescription& setting : command_line.Describe()) {
    EXPECT_THAT(setting.value, Not(HasSubstr("hunter"))) << setting.flag;
    by_flag[setting.flag] = setting;
  }
  EXPECT_EQ(by_flag["--api-key"].value, "<redacted>");
  EXPECT_EQ(by_flag["--api-key"].source, "env");
  EXPECT_EQ(by_flag["--partner-token"].value, "<redacted>");
  EXPECT_EQ(by_flag["--partner-token"].source, "flag");
  EXPECT_EQ(by_flag["--data-dir"].value, DataDir());
  EXPECT_EQ(by_flag["--data-dir"].source, "flag");
  EXPECT_EQ(by_flag["--log-level"].value, "debug");
  EXPECT_EQ(by_flag["--log-level"].source, "env");
  EXPECT_EQ(by_flag["--log-level"].env, "CRM_LOG_LEVEL");
  EXPECT_EQ(by_flag["--grpc-listen"].value, "0.0.0.0:50051");
  EXPECT_EQ(by_flag["--grpc-listen"].source, "default");
  EXPECT_EQ(by_flag.count("--help"), 0u);
}

TEST_F(ServerConfigTest, TlsNeedsCertificateAndKeyTogether) {
  const test_util::TestCertificates pki = test_util::MakeTestCertificates();
  const std::string cert = WriteFile("server.crt", pki.server_cert);
  const std::string key = WriteFile("server.key", pki.server_key);
  const std::string ca = WriteFile("ca.crt", pki.ca_cert);
  EXPECT_THAT(
      ParseWithDataDir({"--tls-cert-file", cert}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--tls-key-file (CRM_TLS_KEY_FILE): missing")));
  EXPECT_THAT(
      ParseWithDataDir({"--tls-key-file", key}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--tls-cert-file (CRM_TLS_CERT_FILE): missing")));
  EXPECT_THAT(
      ParseWithDataDir({"--tls-client-ca-file", ca}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--tls-client-ca-file (CRM_TLS_CLIENT_CA_FILE)")));

  ASSERT_OK_AND_ASSIGN(
      ServerConfig config,
      ParseWithDataDir({"--tls-cert-file", cert, "--tls-key-file", key,
                        "--tls-client-ca-file", ca}));
  EXPECT_TRUE(config.tls.enabled());
  EXPECT_EQ(config.tls.cert_file, cert);
  EXPECT_EQ(config.tls.key_file, key);
  EXPECT_EQ(config.tls.client_ca_file, ca);
}

TEST_F(ServerConfigTest, TlsFilesMustBeReadableMatchingPem) {
  const test_util::TestCertificates pki = test_util::MakeTestCertificates();
  const std::string cert = WriteFile("server.crt", pki.server_cert);
  const std::string key = WriteFile("server.key", pki.server_key);
  const std::string other_key = WriteFile("other.key", pki.other_key);
  const std::string garbage = WriteFile("garbage.pem", "not a certificate\n");
  const std::string missing = (dir_.path() / "missing.pem").string();

  EXPECT_THAT(
      ParseWithDataDir({"--tls-cert-file", missing, "--tls-key-file", key}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("--tls-cert-file (CRM_TLS_CERT_FILE)"),
                     HasSubstr(missing))));
  EXPECT_THAT(
      ParseWithDataDir({"--tls-cert-file", garbage, "--tls-key-file", key}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("--tls-cert-file (CRM_TLS_CERT_FILE)"),
                     HasSubstr("no PEM certificate"))));
  EXPECT_THAT(
      ParseWithDataDir({"--tls-cert-file", cert, "--tls-key-file", garbage}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("--tls-key-file (CRM_TLS_KEY_FILE)"),
                     HasSubstr("private key"))));
  EXPECT_THAT(
      ParseWithDataDir({"--tls-cert-file", cert, "--tls-key-file", other_key}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("--tls-key-file (CRM_TLS_KEY_FILE)"),
                     HasSubstr("does not match"))));
  EXPECT_THAT(ParseWithDataDir({"--tls-cert-file", cert, "--tls-key-file", key,
                                "--tls-client-ca-file", garbage}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--tls-client-ca-file")));
}

}  // namespace
}  // namespace crm::server
