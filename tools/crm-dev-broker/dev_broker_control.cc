#include "crm/dev_broker/dev_broker_control.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "fmt/format.h"
#include "line_reader_internal.h"

namespace crm::dev_broker {
namespace {

// Longest reply line accepted; the dev broker's replies are far shorter.
constexpr size_t kMaxReplyBytes = size_t{64} * 1024;

absl::StatusOr<sockaddr_in> ParseAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  sockaddr_in result{};
  result.sin_family = AF_INET;
  int port = -1;
  if (colon != std::string_view::npos) {
    const std::string_view port_text = address.substr(colon + 1);
    const char* end = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    if (ec != std::errc() || ptr != end) port = -1;
  }
  const std::string host(address.substr(0, colon));
  if (colon == std::string_view::npos || port <= 0 || port > 65535 ||
      inet_pton(AF_INET, host.c_str(), &result.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        fmt::format("control address '{}' is not \"ipv4:port\"; pass line 2 of "
                    "crm-dev-broker's stdout or its --control-file",
                    address));
  }
  result.sin_port = htons(static_cast<uint16_t>(port));
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DevBrokerControl>> DevBrokerControl::Connect(
    std::string_view address, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<sockaddr_in> target = ParseAddress(address);
  if (!target.ok()) return target.status();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(
        fmt::format("cannot create a socket: {}", std::strerror(errno)));
  }
  std::unique_ptr<DevBrokerControl> control(new DevBrokerControl(fd));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&*target),
              sizeof(*target)) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(fmt::format(
          "cannot connect to the dev broker's control port {}: {}; is "
          "crm-dev-broker running with --control-listen?",
          address, std::strerror(errno)));
    }
    if (!internal::WaitFor(fd, POLLOUT, deadline)) {
      return absl::DeadlineExceededError(fmt::format(
          "no connection to the dev broker's control port {} within {}",
          address, absl::FormatDuration(timeout)));
    }
    int error = 0;
    socklen_t size = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) {
      return absl::UnavailableError(fmt::format(
          "cannot connect to the dev broker's control port {}: {}; is "
          "crm-dev-broker running with --control-listen?",
          address, std::strerror(error)));
    }
  }
  return control;
}

DevBrokerControl::DevBrokerControl(int fd)
    : fd_(fd),
      reader_(std::make_unique<internal::LineReader>(fd, kMaxReplyBytes)) {}

DevBrokerControl::~DevBrokerControl() { Close(); }

void DevBrokerControl::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  reader_->Clear();
}

absl::StatusOr<std::string> DevBrokerControl::Send(std::string_view command,
                                                   absl::Duration timeout) {
  if (command.find('\n') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        "a control command is one line; send each line on its own");
  }
  if (fd_ < 0) {
    return absl::UnavailableError(
        "the control connection was closed after an earlier error; connect "
        "again");
  }
  const absl::Time deadline = absl::Now() + timeout;
  const std::string line = std::string(command) + '\n';
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n =
        send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!internal::WaitFor(fd_, POLLOUT, deadline)) {
        Close();
        return absl::DeadlineExceededError(
            fmt::format("could not send '{}' to the dev broker within {}",
                        command, absl::FormatDuration(timeout)));
      }
    } else {
      const std::string error = std::strerror(errno);
      Close();
      return absl::UnavailableError(fmt::format(
          "sending '{}' to the dev broker failed: {}", command, error));
    }
  }
  absl::StatusOr<std::string> reply = reader_->ReadLine(deadline);
  if (!reply.ok()) {
    Close();
    return absl::Status(reply.status().code(),
                        fmt::format("no reply to '{}': {}", command,
                                    std::string(reply.status().message())));
  }
  if (*reply == "ok") return std::string();
  if (reply->starts_with("ok ")) return reply->substr(3);
  return absl::InvalidArgumentError(
      fmt::format("the dev broker refused '{}': {}", command,
                  reply->starts_with("error ") ? reply->substr(6) : *reply));
}

}  // namespace crm::dev_broker
