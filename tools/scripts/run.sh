#!/usr/bin/env bash
# Runs the CRM suite on this machine: installs missing Debian packages
# (deps.sh, idempotent), builds the release preset's crm-suite (and crmctl
# when the tree has it), then starts crm-suite in the foreground with every
# service in one process over the embedded bus, sample data on first start.
# Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
#
# Defaults, each overridable by its variable (docs/operations.md lists all):
#   CRM_DATA_DIR=./crm-data  CRM_GRPC_LISTEN=127.0.0.1:50051
#   CRM_METRICS_LISTEN=127.0.0.1:9464
# Extra arguments go to crm-suite, e.g. --sample-data=false, --log-level debug.
set -euo pipefail
cd "$(dirname "$0")/../.."

tools/scripts/deps.sh
cmake --preset release >/dev/null
targets=(crm-suite)
if [[ -f tools/crmctl/CMakeLists.txt ]] &&
  grep -q '^add_subdirectory(crmctl)' tools/CMakeLists.txt; then
  targets+=(crmctl)
fi
# Build output goes to stderr, like the suite's logs.
cmake --build --preset release -j "$(nproc)" --target "${targets[@]}" >&2

export CRM_DATA_DIR="${CRM_DATA_DIR:-./crm-data}"
export CRM_GRPC_LISTEN="${CRM_GRPC_LISTEN:-127.0.0.1:50051}"
export CRM_METRICS_LISTEN="${CRM_METRICS_LISTEN:-127.0.0.1:9464}"
grpc="${CRM_GRPC_LISTEN/#0.0.0.0:/127.0.0.1:}"
metrics="${CRM_METRICS_LISTEN/#0.0.0.0:/127.0.0.1:}"

cat >&2 <<MSG

crm-suite: data in ${CRM_DATA_DIR}, gRPC on ${grpc}, metrics on http://${metrics}/metrics
It reports SERVING (and logs "crm-suite is serving") once its read models are
live; the sample data is in the tenant "demo". From another terminal:
MSG
if [[ " ${targets[*]} " == *" crmctl "* ]]; then
  cat >&2 <<MSG
  build/release/tools/crmctl/crmctl --server ${grpc} --tenant demo --actor me list
  build/release/tools/crmctl/crmctl --server ${grpc} --tenant demo --actor me --json get contacts/<id>
MSG
fi
cat >&2 <<MSG
  grpcurl -plaintext -H 'x-crm-tenant: demo' -H 'x-crm-actor: me' \\
      -d '{"page": {"page_size": 5}}' ${grpc} crm.contact.v1.ContactService/ListContacts
  grpcurl -plaintext -H 'x-crm-tenant: demo' -H 'x-crm-actor: me' \\
      -d '{"contact": {"given_name": "Rita", "family_name": "Example", "emails": [{"address": "rita@example.com"}]}}' \\
      ${grpc} crm.contact.v1.ContactService/CreateContact
  grpcurl -plaintext ${grpc} grpc.health.v1.Health/Check
  curl -s http://${metrics}/metrics | grep '^crm_'
(grpcurl is not a Debian package: https://github.com/fullstorydev/grpcurl.)
Stop with Ctrl-C.

MSG
exec build/release/services/suite/crm-suite "$@"
