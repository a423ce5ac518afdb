// Flags that several crm-bench areas share, with the same names, ranges and
// help everywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "CLI/App.hpp"

namespace crm::bench {

// --payload-bytes: random payload bytes per event.
inline void AddPayloadBytesFlag(CLI::App& command, size_t& payload_bytes) {
  command
      .add_option("--payload-bytes", payload_bytes,
                  "Random payload bytes per event")
      ->check(CLI::Range(size_t{1}, size_t{512} << 10))
      ->capture_default_str();
}

// --events: how many events the log is filled with (`what` says for what).
inline void AddEventsFlag(CLI::App& command, uint64_t& events,
                          const std::string& what) {
  command.add_option("--events", events, what)
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}))
      ->capture_default_str();
}

// --streams: how many streams events are spread over.
inline void AddStreamsFlag(CLI::App& command, size_t& streams) {
  command
      .add_option("--streams", streams,
                  "Streams the events are spread over (Zipf, s = 1)")
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}))
      ->capture_default_str();
}

// --dir: where the scratch directory is made.
inline void AddScratchDirFlag(CLI::App& command, std::string& dir) {
  command
      .add_option("--dir", dir,
                  "Existing directory to create the scratch directory in "
                  "(default $TMPDIR or /tmp); the scratch directory is "
                  "removed at exit")
      ->check(CLI::ExistingDirectory);
}

}  // namespace crm::bench
