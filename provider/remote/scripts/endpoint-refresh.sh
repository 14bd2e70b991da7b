# shellcheck shell=sh
# Follows the DNS names of an interface's peer endpoints. apply.sh installs it beside the
# interface's key (it runs on its own, without common.sh); the interface's files start it when
# the interface comes up (wg-quick's PostUp, a stanza's post-up) and stop it when it goes down,
# so boot equals live; apply starts, restarts or stops it on a running interface.
#   start IFACE INTERVAL CONFIG   (re)start the loop in the background, detached
#   stop IFACE                    stop it
#   status IFACE                  print "INTERVAL<tab>CONFIG" of the loop that runs, if one does
# Every INTERVAL seconds, for each [Peer] of CONFIG whose Endpoint names its host, the name is
# resolved (the resolver's first address, which wg takes too) and the peer's endpoint set to it
# when it differs from the one in use and either the one in use is where the name pointed at the
# last look (the name moved) or the peer's latest handshake is older than 135 s (wireguard-tools'
# contrib/reresolve-dns: a peer that roamed to another address keeps it while it answers).
set -eu
umask 077
action=${1:-} iface=${2:-}
case $iface in '' | -* | *[!a-zA-Z0-9_=+.-]*) echo "refusing interface name '$iface'" >&2; exit 2 ;; esac
run_dir=/run/wg-fabric
pidfile=$run_dir/$iface.endpoint-refresh.pid
# a handshake older than this is stale: rekey after 120 s, its timeout 5 s, and 10 s of slack
stale_after=135

# The PID of the loop that runs for the interface, and its arguments (none: no loop runs).
running() {
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  case $args in *" loop $iface "*) ;; *) return 1 ;; esac
}

stop() {
  if running; then
    # the loop leads its own process group: its sleep goes with it
    kill -TERM "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# "PUBLIC-KEY HOST PORT" for each peer of the config whose endpoint names its host.
named_peers() {
  awk '
    tolower($0) ~ /^[[:space:]]*\[peer\][[:space:]]*$/ { flush(); peer = 1; next }
    /^[[:space:]]*\[/ { flush(); peer = 0; next }
    peer && tolower($0) ~ /^[[:space:]]*publickey[[:space:]]*=/ { sub(/^[^=]*=[[:space:]]*/, ""); sub(/[[:space:]]+$/, ""); key = $0 }
    peer && tolower($0) ~ /^[[:space:]]*endpoint[[:space:]]*=/ { sub(/^[^=]*=[[:space:]]*/, ""); sub(/[[:space:]]+$/, ""); endpoint = $0 }
    function flush() {
      if (key != "" && endpoint !~ /^\[/ && match(endpoint, /:[0-9]+$/)) {
        host = substr(endpoint, 1, RSTART - 1)
        if (host !~ /^[0-9.]+$/) print key, host, substr(endpoint, RSTART + 1)
      }
      key = ""; endpoint = ""
    }
    END { flush() }' "$1"
}

# One look at every named peer; $last holds "KEY ENDPOINT" lines of where the names pointed.
look() {
  handshakes=$(wg show "$iface" latest-handshakes 2>/dev/null) || return 0
  endpoints=$(wg show "$iface" endpoints 2>/dev/null) || return 0
  now=$(date +%s)
  next=""
  while read -r key host port; do
    address=$(timeout 5 getent ahosts "$host" 2>/dev/null | awk 'NR == 1 { print $1 }') || address=""
    [ -n "$address" ] || continue
    case $address in *:*) want="[$address]:$port" ;; *) want="$address:$port" ;; esac
    next="$next$key $want
"
    used=$(printf '%s\n' "$endpoints" | awk -v k="$key" '$1 == k { print $2 }')
    [ "$used" != "$want" ] || continue
    before=$(printf '%s' "$last" | awk -v k="$key" '$1 == k { print $2 }')
    seen=$(printf '%s\n' "$handshakes" | awk -v k="$key" '$1 == k { print $2 }')
    if [ "$used" = "(none)" ] || [ "$used" = "$before" ] || [ $((now - ${seen:-0})) -gt "$stale_after" ]; then
      wg set "$iface" peer "$key" endpoint "$want" 2>/dev/null || true
    fi
  done <<EOF
$(named_peers "$config")
EOF
  last=$next
}

case $action in
  start)
    interval=${3:-} config=${4:-}
    case $interval in '' | *[!0-9]* | 0) echo "refusing interval '$interval'" >&2; exit 2 ;; esac
    case $config in /*) ;; *) echo "refusing config '$config'" >&2; exit 2 ;; esac
    stop
    mkdir -p "$run_dir"
    # detached: its own session, no terminal, no descriptor of whoever started it (wg-quick,
    # ifup, an SSH session, apply's lock)
    setsid sh "$0" loop "$iface" "$interval" "$config" </dev/null >/dev/null 2>&1 9>&- &
    # it runs once it has said so: what inspects the node next finds it
    tries=0
    while ! running && [ "$tries" -lt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
    running || { echo "the follower of $iface's endpoint names did not start" >&2; exit 1; }
    ;;
  loop)
    interval=$3 config=$4
    # a look that fails (a name that does not resolve, the interface gone a moment) is the next look's to retry
    set +e
    echo "$$" >"$pidfile"
    trap 'exit 0' TERM INT
    last=""
    while :; do
      [ ! -f "$config" ] || look
      sleep "$interval"
    done
    ;;
  stop) stop ;;
  status)
    if running; then
      set -f
      # shellcheck disable=SC2086 # the loop's arguments, one a word
      set -- $args
      set +f
      printf '%s\t%s\n' "$5" "$6"
    fi
    ;;
  *) echo "usage: ${0##*/} start IFACE INTERVAL CONFIG | stop IFACE | status IFACE" >&2; exit 2 ;;
esac
