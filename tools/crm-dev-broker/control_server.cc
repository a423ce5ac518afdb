#include "control_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace crm::dev_broker {
namespace {

// Unread replies buffered per connection before the server stops reading
// its commands (backpressure for a client that never reads).
constexpr size_t kMaxPendingReplyBytes = size_t{64} * 1024;
constexpr size_t kReadChunkBytes = 4096;

std::string ErrnoText() { return std::strerror(errno); }

std::string LongLineReply(size_t max_line_bytes) {
  return fmt::format(
      "error command longer than {} bytes; send one short command per line\n",
      max_line_bytes);
}

}  // namespace

struct ControlServer::Connection {
  int fd;
  std::string input;   // Received bytes not yet ending a line.
  std::string output;  // Replies not yet sent.
  bool skipping_long_line = false;
};

absl::StatusOr<sockaddr_in> ParseLoopbackAddress(std::string_view address) {
  const auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("control address '{}' {}; use a loopback address such as "
                    "127.0.0.1:0 (0 picks a free port)",
                    address, why));
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return invalid("has no ':port'");
  std::string host(address.substr(0, colon));
  const std::string_view port_text = address.substr(colon + 1);
  int port = -1;
  const char* end = port_text.data() + port_text.size();
  const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
  if (port_text.empty() || ec != std::errc() || ptr != end || port < 0 ||
      port > 65535) {
    return invalid("has no port number from 0 to 65535");
  }
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in socket_address{};
  socket_address.sin_family = AF_INET;
  socket_address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &socket_address.sin_addr) != 1) {
    return invalid("is not an IPv4 address");
  }
  if ((ntohl(socket_address.sin_addr.s_addr) >> 24) != 127) {
    return invalid(
        "is not on loopback (127.0.0.0/8); the control port has no "
        "authentication and must not be reachable from other machines");
  }
  return socket_address;
}

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Listen(
    std::string_view address, Options options) {
  absl::StatusOr<sockaddr_in> socket_address = ParseLoopbackAddress(address);
  if (!socket_address.ok()) return socket_address.status();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(
        fmt::format("cannot create the control socket: {}", ErrnoText()));
  }
  const int reuse = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
  sockaddr_in bound = *socket_address;
  socklen_t bound_size = sizeof(bound);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&*socket_address),
           sizeof(*socket_address)) != 0 ||
      listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_size) != 0) {
    const std::string error = ErrnoText();
    close(fd);
    return absl::UnavailableError(fmt::format(
        "cannot listen on control address {}: {}; choose another port or 0",
        address, error));
  }
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    const std::string error = ErrnoText();
    close(fd);
    return absl::UnavailableError(
        fmt::format("cannot create the control thread's pipe: {}", error));
  }
  char host[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &bound.sin_addr, host, sizeof(host));
  return std::unique_ptr<ControlServer>(new ControlServer(
      fd, wake[0], wake[1], fmt::format("{}:{}", host, ntohs(bound.sin_port)),
      options));
}

ControlServer::ControlServer(int listen_fd, int wake_read_fd, int wake_write_fd,
                             std::string address, Options options)
    : listen_fd_(listen_fd),
      wake_read_fd_(wake_read_fd),
      wake_write_fd_(wake_write_fd),
      address_(std::move(address)),
      options_(options) {}

void ControlServer::Serve(Handler handler) {
  handler_ = std::move(handler);
  thread_ = std::thread([this] { ServeConnections(); });
}

ControlServer::~ControlServer() {
  const char stop = 's';
  // A full pipe already holds a wake-up, so a failed write is harmless.
  (void)!write(wake_write_fd_, &stop, 1);
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(wake_read_fd_);
  close(wake_write_fd_);
}

void ControlServer::ServeConnections() {
  std::vector<Connection> connections;
  std::vector<pollfd> fds;
  while (true) {
    fds.clear();
    fds.push_back({wake_read_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Connection& connection : connections) {
      short events = 0;
      if (connection.output.size() < kMaxPendingReplyBytes) events |= POLLIN;
      if (!connection.output.empty()) events |= POLLOUT;
      fds.push_back({connection.fd, events, 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      fmt::print(stderr, "crm-dev-broker: the control port stops: poll: {}\n",
                 ErrnoText());
      break;
    }
    if (fds[0].revents != 0) break;
    for (size_t i = 0; i < connections.size(); ++i) {
      Connection& connection = connections[i];
      const short revents = fds[i + 2].revents;
      bool open = true;
      if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        open = ReadCommands(connection);
      }
      if (open && !connection.output.empty()) open = SendReplies(connection);
      if (!open) {
        close(connection.fd);
        connection.fd = -1;
      }
    }
    std::erase_if(connections, [](const Connection& connection) {
      return connection.fd < 0;
    });
    if ((fds[1].revents & POLLIN) != 0) Accept(connections);
  }
  for (const Connection& connection : connections) close(connection.fd);
}

void ControlServer::Accept(std::vector<Connection>& connections) const {
  const int fd =
      accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;  // EAGAIN, or the client gave up: nothing to serve.
  if (connections.size() >= static_cast<size_t>(options_.max_connections)) {
    const std::string refusal = fmt::format(
        "error too many control connections (limit {}); close one and "
        "connect again\n",
        options_.max_connections);
    (void)!send(fd, refusal.data(), refusal.size(),
                MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
    return;
  }
  connections.push_back(Connection{fd, "", "", false});
}

bool ControlServer::ReadCommands(Connection& connection) const {
  char buffer[kReadChunkBytes];
  const ssize_t received = recv(connection.fd, buffer, sizeof(buffer), 0);
  if (received == 0) return false;
  if (received < 0) return errno == EAGAIN || errno == EINTR;
  connection.input.append(buffer, static_cast<size_t>(received));
  size_t start = 0;
  for (size_t newline = connection.input.find('\n');
       newline != std::string::npos;
       newline = connection.input.find('\n', start)) {
    const std::string_view line(connection.input.data() + start,
                                newline - start);
    start = newline + 1;
    if (connection.skipping_long_line) {
      connection.skipping_long_line = false;  // Its tail ends here.
    } else if (line.size() > options_.max_line_bytes) {
      connection.output += LongLineReply(options_.max_line_bytes);
    } else {
      connection.output += handler_(line);
      connection.output += '\n';
    }
  }
  connection.input.erase(0, start);
  if (connection.input.size() > options_.max_line_bytes) {
    if (!connection.skipping_long_line) {
      connection.output += LongLineReply(options_.max_line_bytes);
      connection.skipping_long_line = true;
    }
    connection.input.clear();
  }
  return true;
}

bool ControlServer::SendReplies(Connection& connection) {
  const ssize_t sent =
      send(connection.fd, connection.output.data(), connection.output.size(),
           MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent < 0) return errno == EAGAIN || errno == EINTR;
  connection.output.erase(0, static_cast<size_t>(sent));
  return true;
}

}  // namespace crm::dev_broker
