#!/usr/bin/env bash
# The whole test suite: unit tests (pure layers), integration tests on the local lab (real sshd,
# wireguard-tools, wireguard-go in network namespaces) and end-to-end tests through the Pulumi
# engine. Installs what is missing first. Extra arguments go to mocha (e.g. --grep).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --engine --tests)"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
exec npx mocha "dist/test/**/*.test.js" "$@"
