#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine, reusing what is there:
# Debian packages (wireguard-tools, wireguard-go, openssh-server, iproute2, ping, graphviz; with --tests
# also shellcheck, systemd, util-linux, nftables and postgresql, and ifupdown2 for the lab's ifupdown2 mode unless
# classic ifupdown runs this machine's network), npm packages (npm ci), the TypeScript build, and (with --engine) the Pulumi engine.
# Prints an `export PATH=…` line for the engine on stdout when --engine is given.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# graphviz: the demo ends with wg-fabric graph's picture of the fabric (SVG by dot)
DEBIAN_PACKAGES=(wireguard-tools wireguard-go openssh-server iproute2 iputils-ping graphviz)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
if [[ " $* " == *" --tests "* ]]; then
  # the tests lint the node scripts with shellcheck; systemctl (it enables units without systemd running)
  # proves the boot units; nsenter (util-linux) reads a lab node's own view;
  # nftables: wg-quick's boot of a full tunnel adds its firewall rules with nft, and the fault suite drops
  # packets with it (in a node's namespace only); postgresql: the shared-backend tests' server
  DEBIAN_PACKAGES+=(shellcheck systemd util-linux nftables postgresql)
  # ifupdown2 replaces classic ifupdown: never do that to a machine whose network it runs
  if installed ifupdown; then
    log "ifupdown is installed: not replacing it with ifupdown2 (the ifupdown2 lab test will fail)"
  else
    DEBIAN_PACKAGES+=(ifupdown2)
  fi
fi
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm ci only when the lockfile changed since the last install
stamp=node_modules/.wg-fabric-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund >&2
  cp package-lock.json "$stamp"
fi

# The dynamic providers load their implementation by the package's own name, as they would
# from a user's node_modules; here the package is this checkout.
ln -sfn .. node_modules/pulumi-wireguard-fabric

log "building TypeScript"
npm run --silent build >&2

if [[ " $* " == *" --engine "* ]]; then
  bin=$(bash scripts/pulumi-engine.sh)
  echo "export PATH=\"$bin:\$PATH\""
fi
