#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy: bugprone and performance checks) over our
# sources, using the dev build's compile_commands.json. Too slow for every CI
# run on 2 cores; run it before a larger change lands.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -f build/dev/compile_commands.json ]] || cmake --preset dev >/dev/null
mapfile -t sources < <(git ls-files 'libs/*.cc' 'services/*.cc' 'tools/*.cc')
clang-tidy -p build/dev --quiet "${sources[@]}"
