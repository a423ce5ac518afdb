#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, checks formatting,
# checks the lock annotations with clang (tsa preset), builds the dev preset
# (AddressSanitizer + UndefinedBehaviorSanitizer) and runs the whole ctest
# suite under the sanitizers. Extra arguments go to ctest (e.g. -L eventstore).
set -euo pipefail
cd "$(dirname "$0")/../.."

tools/scripts/deps.sh

echo "== format check (clang-format)" >&2
mapfile -t sources < <(git ls-files '*.cc' '*.h' '*.proto')
if [[ ${#sources[@]} -gt 0 ]]; then
  clang-format --dry-run -Werror "${sources[@]}"
fi

echo "== lock annotations (tsa preset: clang -Wthread-safety)" >&2
cmake --preset tsa >/dev/null
cmake --build --preset tsa -j "$(nproc)" --target eventstore projection bus server

echo "== build (dev preset)" >&2
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)"

echo "== tests" >&2
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --preset dev -j "$(nproc)" "$@"
