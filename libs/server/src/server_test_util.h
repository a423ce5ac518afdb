// Helpers shared by libs/server's tests and the process tests of the
// services and tools: environment variables set for one test, starting a
// child process without the CRM_* environment, an HTTP GET of /metrics over
// a plain socket, reading a sample from the Prometheus text format, and
// waiting on a condition. Test-only.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fmt/format.h"

extern char** environ;

namespace crm::server::test_util {

// Sets environment variables for its lifetime, restoring the previous
// values after. Tests run one per process (ctest), so nothing else reads
// the environment concurrently.
class ScopedEnv {
 public:
  ScopedEnv() = default;
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second.has_value()) {
        setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        unsetenv(it->first.c_str());
      }
    }
  }

  void Set(const std::string& name, const std::string& value) {
    Save(name);
    setenv(name.c_str(), value.c_str(), 1);
  }
  void Unset(const std::string& name) {
    Save(name);
    unsetenv(name.c_str());
  }

 private:
  void Save(const std::string& name) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(
        name, old == nullptr ? std::nullopt : std::optional<std::string>(old));
  }

  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Starts `arguments` (the binary's path first) as a child process with this
// process's environment minus every CRM_* variable (settings come from the
// arguments only), plus `extra_env` (NAME=value). Its stdout goes to
// `stdout_path` (created or truncated), its stderr to `stderr_path`, or to
// the same file when that is empty. Returns the child's pid; the caller
// waits for it. Errors: INTERNAL naming the binary when it cannot start.
inline absl::StatusOr<pid_t> SpawnChild(
    std::vector<std::string> arguments,
    const std::vector<std::string>& extra_env, const std::string& stdout_path,
    const std::string& stderr_path = "") {
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment = extra_env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!std::string_view(*entry).starts_with("CRM_")) {
      environment.emplace_back(*entry);
    }
  }
  std::vector<char*> envp;
  for (std::string& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (stderr_path.empty()) {
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
                                     stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  pid_t pid = 0;
  const int error =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    return absl::InternalError(
        fmt::format("cannot start {}: {}", arguments[0], std::strerror(error)));
  }
  return pid;
}

// The body of GET `path` from 127.0.0.1:`port` (HTTP/1.0, so the server
// closes the connection after the response). Errors: UNAVAILABLE when the
// connection or the read fails (5 s timeout) or the status is not 200.
inline absl::StatusOr<std::string> HttpGet(int port,
                                           std::string_view path = "/metrics") {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError("socket failed");
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    close(fd);
    return absl::UnavailableError(fmt::format("cannot connect to {}", port));
  }
  const std::string request =
      fmt::format("GET {} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("send failed");
  }
  std::string response;
  char buffer[4096];
  while (true) {
    const ssize_t count = recv(fd, buffer, sizeof(buffer), 0);
    if (count < 0) {
      close(fd);
      return absl::UnavailableError("recv failed or timed out");
    }
    if (count == 0) break;
    response.append(buffer, static_cast<size_t>(count));
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos ||
      response.find(" 200 ") > response.find("\r\n")) {
    return absl::UnavailableError("bad HTTP response: " +
                                  response.substr(0, 200));
  }
  return response.substr(body + 4);
}

// The value of the sample `series` (name and labels exactly as written,
// e.g. `crm_x_total{code="OK",method="m"}`) in Prometheus text `text`;
// nullopt when absent.
inline std::optional<double> SampleValue(std::string_view text,
                                         std::string_view series) {
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() &&
        line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

// Calls `condition` until it returns true or `timeout` passes; returns its
// last result. Polls every 10 ms.
inline bool WaitFor(const std::function<bool()>& condition,
                    absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

}  // namespace crm::server::test_util
