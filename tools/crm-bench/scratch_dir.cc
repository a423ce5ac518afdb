#include "scratch_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace crm::bench {
namespace {

void RemoveTree(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error) {
    std::fprintf(stderr, "crm-bench: could not remove %s: %s\n", path.c_str(),
                 error.message().c_str());
  }
}

}  // namespace

absl::StatusOr<ScratchDir> ScratchDir::Create(const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* tmpdir = std::getenv("TMPDIR");
    base = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  }
  std::error_code error;
  if (!std::filesystem::is_directory(base, error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scratch parent '", base,
        "' is not an existing directory; create it or pass another --dir"));
  }
  std::string pattern = absl::StrCat(base, "/crm-bench-XXXXXX");
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot create a directory in '", base,
                     "': ", std::strerror(errno), "; check its permissions"));
  }
  return ScratchDir(std::string(buffer.data()));
}

ScratchDir::ScratchDir(ScratchDir&& other) noexcept
    : path_(std::exchange(other.path_, {})) {}

ScratchDir& ScratchDir::operator=(ScratchDir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) RemoveTree(path_);
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

ScratchDir::~ScratchDir() {
  if (!path_.empty()) RemoveTree(path_);
}

void ScratchDir::RemoveSub(const std::string& name) const {
  RemoveTree(Sub(name));
}

}  // namespace crm::bench
