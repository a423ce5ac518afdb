#include "ready_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace crm::server {
namespace {

absl::Status Unavailable(std::string_view what, const std::string& path,
                         int error) {
  return absl::UnavailableError(
      fmt::format("cannot {} {}: {}", what, path, std::strerror(error)));
}

}  // namespace

std::string ReadyFileContent(std::string_view service, int pid,
                             std::string_view grpc_address,
                             std::string_view metrics_address) {
  nlohmann::ordered_json content;
  content["service"] = service;
  content["pid"] = pid;
  content["grpc_address"] = grpc_address;
  content["metrics_address"] = metrics_address;
  return content.dump() + "\n";
}

absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view content) {
  const std::string temporary = fmt::format("{}.tmp-{}", path, getpid());
  const int fd =
      open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("create", temporary, errno);
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t result =
        write(fd, content.data() + written, content.size() - written);
    if (result < 0 && errno == EINTR) continue;
    if (result < 0) {
      const int error = errno;
      close(fd);
      unlink(temporary.c_str());
      return Unavailable("write", temporary, error);
    }
    written += static_cast<size_t>(result);
  }
  int sync_error = fsync(fd) == 0 ? 0 : errno;
  if (close(fd) != 0 && sync_error == 0) sync_error = errno;
  if (sync_error != 0) {
    unlink(temporary.c_str());
    return Unavailable("flush", temporary, sync_error);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    unlink(temporary.c_str());
    return Unavailable("rename the ready file to", path, error);
  }
  return absl::OkStatus();
}

}  // namespace crm::server
