#include "line_reader_internal.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "fmt/format.h"

namespace crm::dev_broker::internal {

bool WaitFor(int fd, short events, absl::Time deadline) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    // Rounded up, and capped so that the int cannot overflow.
    const int timeout_ms = static_cast<int>(
        std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60'000));
    pollfd entry{fd, events, 0};
    const int ready = poll(&entry, 1, timeout_ms);
    if (ready > 0 || (ready < 0 && errno != EINTR)) return true;
  }
}

absl::StatusOr<std::string> LineReader::ReadLine(absl::Time deadline) {
  while (true) {
    if (const size_t newline = buffer_.find('\n');
        newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (buffer_.size() > max_line_bytes_) {
      return absl::UnavailableError(
          fmt::format("a line is longer than {} bytes", max_line_bytes_));
    }
    if (!WaitFor(fd_, POLLIN, deadline)) {
      return absl::DeadlineExceededError("timed out waiting for a line");
    }
    char chunk[4096];
    const ssize_t n = read(fd_, chunk, sizeof(chunk));
    if (n == 0) return absl::UnavailableError("end of file");
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return absl::UnavailableError(
          fmt::format("read failed: {}", std::strerror(errno)));
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace crm::dev_broker::internal
