// The dev broker's control port: a line-based TCP protocol on loopback.
//
//   ASSIGN_OR_RETURN(auto server, ControlServer::Listen("127.0.0.1:0"));
//   std::cout << server->address() << '\n';   // "127.0.0.1:41234"
//   server->Serve([&](std::string_view line) { return Run(line); });
//
// Protocol: the client sends one command per line ('\n', optionally
// "\r\n"); the server answers each line with exactly one reply line, in
// order, from the handler. A line longer than `max_line_bytes` gets
// "error ..." and is skipped up to its newline; the connection stays usable.
// A connection beyond `max_connections` gets one "error ..." line and is
// closed. Replies a client does not read are buffered up to a bound, then
// the server stops reading that connection until it drains.
#pragma once

#include <netinet/in.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"

namespace crm::dev_broker {

// "127.x.y.z:port" or "localhost:port" (port 0 picks a free one) as a socket
// address. INVALID_ARGUMENT for anything else, including non-loopback hosts:
// the control port has no authentication, so it must not leave the machine.
absl::StatusOr<sockaddr_in> ParseLoopbackAddress(std::string_view address);

// Thread safety: Listen(), Serve() and the destructor from one thread;
// address() from any. The handler runs on the server's own thread, one line
// at a time.
class ControlServer {
 public:
  // Returns the reply line (without '\n') for one command line (without
  // '\n'). It must not block for long: every connection waits for it.
  using Handler = std::function<std::string(std::string_view line)>;

  struct Options {
    // Longest accepted command line, without its newline.
    size_t max_line_bytes = 4096;
    // Connections served at once.
    int max_connections = 8;
  };

  // Binds and listens on `address` (see ParseLoopbackAddress). Clients that
  // connect before Serve() wait in the listen queue.
  // INVALID_ARGUMENT for a bad or non-loopback address; UNAVAILABLE when the
  // socket cannot be bound (e.g. the port is in use).
  static absl::StatusOr<std::unique_ptr<ControlServer>> Listen(
      std::string_view address, Options options);
  static absl::StatusOr<std::unique_ptr<ControlServer>> Listen(
      std::string_view address) {
    return Listen(address, Options());
  }

  // Starts serving connections with `handler` on a new thread.
  // REQUIRES: called once. The caller blocks the signals it waits for
  // (SIGTERM) before calling, so the new thread never receives them.
  void Serve(Handler handler);

  // Stops the thread (if Serve() started it) and closes the listener and
  // every connection without sending anything more. Waits at most for the
  // handler call in progress.
  ~ControlServer();

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // The bound address, "127.0.0.1:port".
  const std::string& address() const { return address_; }

 private:
  struct Connection;

  ControlServer(int listen_fd, int wake_read_fd, int wake_write_fd,
                std::string address, Options options);
  void ServeConnections();
  void Accept(std::vector<Connection>& connections) const;
  // Reads what is available and appends the replies; false when closed.
  bool ReadCommands(Connection& connection) const;
  // Sends pending replies; false when the connection failed.
  static bool SendReplies(Connection& connection);

  const int listen_fd_;
  const int wake_read_fd_;
  const int wake_write_fd_;
  const std::string address_;
  Handler handler_;
  const Options options_;
  std::thread thread_;
};

}  // namespace crm::dev_broker
