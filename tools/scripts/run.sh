#!/usr/bin/env bash
# The suite's main job. Until the first service lands this is the event-store
# benchmark: installs missing Debian packages, builds the release preset and
# runs `crm-bench eventstore` (extra arguments are passed on, e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/../.."

tools/scripts/deps.sh
cmake --preset release >/dev/null
# Build output goes to stderr: with --json, stdout carries only the results.
cmake --build --preset release -j "$(nproc)" --target crm-bench >&2
exec build/release/tools/crm-bench/crm-bench eventstore "$@"
