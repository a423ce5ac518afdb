// The ready file (DESIGN.md §10): where a serving process tells scripts and
// tests its bound addresses. Internal to libs/server.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace crm::server {

// {"service":"contact","pid":4242,"grpc_address":"127.0.0.1:41234",
//  "metrics_address":"127.0.0.1:39011"} and a newline.
std::string ReadyFileContent(std::string_view service, int pid,
                             std::string_view grpc_address,
                             std::string_view metrics_address);

// Writes `content` to `path` so that a reader sees either no file (or the
// old one) or the whole new content: a temporary file in the same
// directory, flushed to disk, renamed over `path`.
// Errors: UNAVAILABLE with the path and the system's reason.
absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view content);

}  // namespace crm::server
