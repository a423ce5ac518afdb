// Process-wide controls shared by every benchmark: a stop request set by
// SIGINT / SIGTERM, which every benchmark loop checks so that scratch
// directories are still removed and children still reaped, and logging to
// stderr (stdout carries only results).
#pragma once

#include <cstdio>

#include "absl/strings/str_format.h"

namespace crm::bench {

// Makes the first SIGINT or SIGTERM request a stop; a second one kills the
// process as usual.
void InstallStopHandlers();

// True once a stop was requested. Async-signal-safe.
bool StopRequested();

// Writes "crm-bench: <message>" and a newline to stderr.
template <typename... Args>
void Log(const absl::FormatSpec<Args...>& format, const Args&... args) {
  std::fprintf(stderr, "crm-bench: %s\n",
               absl::StrFormat(format, args...).c_str());
}

}  // namespace crm::bench
