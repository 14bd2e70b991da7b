#!/usr/bin/env bash
# The demo: installs what is missing (Debian packages, npm packages, the Pulumi engine), starts
# a 3-node lab on this machine and runs `pulumi up` of the RFC example against it.
# `--down` destroys the stack and tears the lab down. Needs root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --engine)"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
exec node dist/lab/demo.js "$@"
