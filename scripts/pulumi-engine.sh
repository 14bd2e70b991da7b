#!/usr/bin/env bash
# Puts the Pulumi engine on PATH: `pulumi`, `pulumi-language-nodejs` and
# `pulumi-resource-pulumi-nodejs`.
#
#   export PATH="$(bash scripts/pulumi-engine.sh):$PATH"
#
# prints the directory to put on PATH; progress goes to stderr.
#
# A `pulumi` already on PATH (with its language host) is used as it is. Otherwise the CLI
# and the nodejs language host are built from Go modules with the machine's Go (no prebuilt
# binary can be downloaded here) and cached under $WG_FABRIC_CACHE, so the next run reuses
# them. Where the Go module proxy refuses the language host, ours (tools/language-host,
# built into dist/ by setup.sh) stands in for it. The CLI's pkg/go.mod carries `replace`
# directives, which `go install mod@version` refuses, so we build from a small wrapper module
# that copies them.
set -euo pipefail

WG_FABRIC_ENGINE_VERSION="${WG_FABRIC_ENGINE_VERSION:-v3.274.1}"
WG_FABRIC_CACHE="${WG_FABRIC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-wireguard-fabric}"
_engine_dir="$WG_FABRIC_CACHE/engine-$WG_FABRIC_ENGINE_VERSION"
_engine_bin="$_engine_dir/bin"

_engine_log() { printf '[pulumi-engine] %s\n' "$*" >&2; }

# Writes the plugin that runs dynamic providers: @pulumi/pulumi's dynamic-provider entry point,
# resolved from the program's directory (the engine starts plugins there).
_engine_dynamic_plugin() {
  local target="$1/pulumi-resource-pulumi-nodejs"
  [ -x "$target" ] && return 0
  mkdir -p "$1"
  cat >"$target" <<'EOF'
#!/bin/sh
entry=$(node -p "require.resolve('@pulumi/pulumi/cmd/dynamic-provider')") || exit 1
exec node "$entry" "$@"
EOF
  chmod 0755 "$target"
}

# Installs scripts/language-host.sh as `pulumi-language-nodejs` in $1: it runs the language host
# of the clone each project takes the package from (the cache is shared by every clone on the
# machine), and this clone's for a project outside any clone.
_engine_own_language_host() {
  local repo host
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  host="$repo/dist/tools/language-host/main.js"
  [ -f "$host" ] || { _engine_log "$host is missing: run npm run build, then this again, to run projects with the pulumi CLI"; return 1; }
  mkdir -p "$1"
  printf '%s\n' "$host" >"$1/language-host.default.tmp"
  mv "$1/language-host.default.tmp" "$1/language-host.default"
  cp "$repo/scripts/language-host.sh" "$1/pulumi-language-nodejs.tmp"
  chmod 0755 "$1/pulumi-language-nodejs.tmp"
  mv "$1/pulumi-language-nodejs.tmp" "$1/pulumi-language-nodejs"
}

# Builds one Go command from a wrapper module that requires `module` at our version and copies
# the `replace` directives of its go.mod.
_engine_go_build() {
  local module="$1" package="$2" output="$3"
  local work
  work="$_engine_dir/src/$(basename "$output")"
  mkdir -p "$work"
  _engine_log "fetching $module@$WG_FABRIC_ENGINE_VERSION"
  local gomod
  gomod=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$module@$WG_FABRIC_ENGINE_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [ -f "$gomod" ] || { _engine_log "could not download $module@$WG_FABRIC_ENGINE_VERSION"; return 1; }
  {
    echo "module wgfabric.local/engine/$(basename "$output")"
    echo
    sed -n 's/^go \(.*\)$/go \1/p' "$gomod" | head -n 1
    echo
    echo "require $module $WG_FABRIC_ENGINE_VERSION"
    echo
    # single-line and block forms of replace; local paths (../sdk) only exist in pulumi's repo
    awk '/^replace \(/{b=1; print; next} b&&/^\)/{b=0; print; next} b{print; next} /^replace /{print}' "$gomod" |
      grep -Ev '=>[[:space:]]*\.\.?/'
  } >"$work/go.mod"
  _engine_log "resolving dependencies of $package (first time only; takes a few minutes)"
  (cd "$work" && GOFLAGS=-mod=mod go get "$package@$WG_FABRIC_ENGINE_VERSION" "github.com/pulumi/pulumi/sdk/v3@$WG_FABRIC_ENGINE_VERSION" >&2)
  _engine_log "building $(basename "$output") (first time only; takes several minutes on 2 cores)"
  (cd "$work" && GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$WG_FABRIC_ENGINE_VERSION" -o "$output.tmp" "$package" >&2)
  mv "$output.tmp" "$output"
}

pulumi_engine_ensure() {
  if command -v pulumi >/dev/null 2>&1 && [ "$(dirname "$(command -v pulumi)")" != "$_engine_bin" ]; then
    local own
    own=$(dirname "$(command -v pulumi)")
    _engine_log "using the pulumi already on PATH ($own)"
    # the dynamic provider plugin (and a language host) are ours to add when the installation lacks them
    command -v pulumi-resource-pulumi-nodejs >/dev/null 2>&1 || _engine_dynamic_plugin "$_engine_bin"
    # (the official installation keeps its language hosts beside pulumi, not always on PATH)
    command -v pulumi-language-nodejs >/dev/null 2>&1 || [ -x "$own/pulumi-language-nodejs" ] || _engine_own_language_host "$_engine_bin" || true
    return 0
  fi
  command -v go >/dev/null 2>&1 || { _engine_log "Go is needed to build the Pulumi engine and is not on PATH"; return 1; }
  mkdir -p "$_engine_bin"
  if [ ! -x "$_engine_bin/pulumi" ]; then
    _engine_go_build github.com/pulumi/pulumi/pkg/v3 github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$_engine_bin/pulumi"
  fi
  # The Go module proxy here does not serve the nodejs language host's module (403): it is built
  # where it can be, and ours stands in where it cannot (the marker remembers which).
  if [ ! -e "$_engine_dir/no-language-host" ] && [ ! -x "$_engine_bin/pulumi-language-nodejs" ]; then
    _engine_go_build github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 \
      github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 "$_engine_bin/pulumi-language-nodejs" ||
      { _engine_log "the official pulumi-language-nodejs cannot be built here; ours stands in"; touch "$_engine_dir/no-language-host"; }
  fi
  # without it inline (Automation API) programs still run: say so, and go on
  [ ! -e "$_engine_dir/no-language-host" ] || _engine_own_language_host "$_engine_bin" || true
  _engine_dynamic_plugin "$_engine_bin"
  _engine_log "engine ready: $("$_engine_bin/pulumi" version 2>/dev/null || echo "$_engine_bin/pulumi")"
}

pulumi_engine_ensure
echo "$_engine_bin"
