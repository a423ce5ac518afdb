#!/usr/bin/env bash
# Installs the Debian 12 packages the suite builds with, if any is missing.
# Idempotent: does nothing (and needs no network or root) when all are there.
set -euo pipefail

packages=(
  cmake g++ make pkg-config ccache git clang clang-format
  libprotobuf-dev protobuf-compiler
  librocksdb-dev librdkafka-dev
  libabsl-dev libssl-dev libfmt-dev
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev
  libgrpc++-dev protobuf-compiler-grpc prometheus-cpp-dev libspdlog-dev
  libphonenumber-dev libicu-dev libcsv-dev
  libjemalloc-dev
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || {
    echo "deps: run as root or install sudo to install: ${missing[*]}" >&2
    exit 1
  }
  sudo=(sudo)
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
  --no-install-recommends "${missing[@]}" >&2
