// A client of crm-dev-broker's control port, for multi-process tests that
// inject faults into the mock cluster the dev broker owns.
//
//   ASSIGN_OR_RETURN(auto control,
//                    DevBrokerControl::Connect(broker->control_address()));
//   RETURN_IF_ERROR(control->Send("all-brokers-down").status());
//   ... check that producers stall ...
//   RETURN_IF_ERROR(control->Send("all-brokers-up").status());
//
// Commands and replies are documented in libs/bus/README.md (section
// "Local runs: crm-dev-broker") and in `crm-dev-broker --help`.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace crm::dev_broker {
namespace internal {
class LineReader;
}  // namespace internal

// One connection to the control port.
// Thread safety: not thread-safe; one Send() at a time per object. Separate
// objects may be used from separate threads (the dev broker serves up to 8
// connections at once).
class DevBrokerControl {
 public:
  // Connects to `address` ("127.0.0.1:port", line 2 of the dev broker's
  // stdout or its --control-file).
  // INVALID_ARGUMENT: `address` is not an IPv4 "host:port".
  // UNAVAILABLE: nothing accepts the connection (the dev broker is not
  //   running or was started without --control-listen).
  // DEADLINE_EXCEEDED: no connection within `timeout`.
  static absl::StatusOr<std::unique_ptr<DevBrokerControl>> Connect(
      std::string_view address, absl::Duration timeout = absl::Seconds(10));

  ~DevBrokerControl();
  DevBrokerControl(const DevBrokerControl&) = delete;
  DevBrokerControl& operator=(const DevBrokerControl&) = delete;

  // Sends one command (without newline, e.g. "broker-down 1") and waits up
  // to `timeout` for its reply line.
  // OK: the reply was "ok [detail]"; holds the detail ("" when none).
  // INVALID_ARGUMENT: the dev broker answered "error <message>" (the status
  //   message holds the command and the broker's message), or `command`
  //   contains a newline. The connection stays usable.
  // DEADLINE_EXCEEDED: no reply within `timeout`. The connection is closed
  //   (a late reply would be taken for the next command's); connect again.
  // UNAVAILABLE: the connection failed or was closed by an earlier error.
  absl::StatusOr<std::string> Send(std::string_view command,
                                   absl::Duration timeout = absl::Seconds(10));

 private:
  explicit DevBrokerControl(int fd);
  void Close();

  int fd_;  // -1 once closed.
  std::unique_ptr<internal::LineReader> reader_;
};

}  // namespace crm::dev_broker
