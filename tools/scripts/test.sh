#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, checks formatting,
# builds the dev preset (AddressSanitizer + UndefinedBehaviorSanitizer) and
# runs the whole ctest suite under the sanitizers.
set -euo pipefail
cd "$(dirname "$0")/../.."

tools/scripts/deps.sh

echo "== format check (clang-format)" >&2
mapfile -t sources < <(git ls-files '*.cc' '*.h' '*.proto' 2>/dev/null ||
  find libs proto services tools -name '*.cc' -o -name '*.h' -o -name '*.proto')
clang-format --dry-run -Werror "${sources[@]}"

echo "== build (dev preset)" >&2
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)"

echo "== tests" >&2
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --preset dev -j "$(nproc)" "$@"
