// ScratchDir: a fresh directory for a benchmark's stores, removed with
// everything in it when the ScratchDir is destroyed.
//
//   ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Create(flags.dir));
//   std::string store_path = scratch.Sub("append-store");
//
// Movable, not copyable.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace crm::bench {

class ScratchDir {
 public:
  // Creates "crm-bench-XXXXXX" inside `parent`, or when `parent` is empty
  // inside $TMPDIR (or /tmp). Only the new directory is ever removed, never
  // `parent`. Errors: INVALID_ARGUMENT when `parent` is not a directory;
  // UNAVAILABLE when the directory cannot be created.
  static absl::StatusOr<ScratchDir> Create(const std::string& parent);

  ScratchDir(ScratchDir&& other) noexcept;
  ScratchDir& operator=(ScratchDir&& other) noexcept;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();

  const std::string& path() const { return path_; }

  // path()/name. Does not create it.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

  // Removes path()/name and everything in it, if present. Failures are
  // logged to stderr and otherwise ignored: the whole scratch directory is
  // removed at the end anyway.
  void RemoveSub(const std::string& name) const;

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}

  std::string path_;  // Empty once moved from.
};

}  // namespace crm::bench
