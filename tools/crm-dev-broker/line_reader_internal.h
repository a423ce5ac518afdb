// Reading '\n'-terminated lines from a file descriptor (a socket or a pipe)
// with a deadline; shared by the dev broker's client classes. Not public.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace crm::dev_broker::internal {

// Buffers what it reads past a line for the next call.
// Thread safety: none; one reader per descriptor.
class LineReader {
 public:
  // `fd` is borrowed and may be blocking or not; lines longer than
  // `max_line_bytes` are refused.
  LineReader(int fd, size_t max_line_bytes)
      : fd_(fd), max_line_bytes_(max_line_bytes) {}

  // The next line without its '\n'.
  // DEADLINE_EXCEEDED: no complete line by `deadline`.
  // UNAVAILABLE: end of file, a read error, or a line over the limit.
  absl::StatusOr<std::string> ReadLine(absl::Time deadline);

  // Forgets buffered bytes (after the descriptor was closed).
  void Clear() { buffer_.clear(); }

 private:
  int fd_;
  size_t max_line_bytes_;
  std::string buffer_;
};

// Waits until `fd` has one of `events` (poll(2) flags) or `deadline`
// passes; false then. A poll error counts as ready: the next call on the
// descriptor reports it.
bool WaitFor(int fd, short events, absl::Time deadline);

}  // namespace crm::dev_broker::internal
