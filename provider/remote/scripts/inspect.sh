# shellcheck source=common.sh
. "${0%/*}/common.sh"
# Reports what is on the node for one interface, one tab-separated record a line (parsed by
# contract.ts): key files, the config file (its digest, and of its lines only the section
# headers, PublicKey and Endpoint: nothing secret, whatever the file's case or indentation), the link, the running WireGuard interface (wg show dump without its first
# line, which holds the private key; pre-shared keys as sha256 only), the follower of endpoint
# names (its file's digest, the loop that runs), addresses and routes
# as ip -j prints them, the boot unit, and per endpoint host read on stdin what it resolves
# to and the route towards it.
need wg wireguard-tools
record() { printf '%s' "$1"; shift; for field in "$@"; do printf '\t%s' "$field"; done; printf '\n'; }
sha() { sha256sum | cut -d ' ' -f 1; }

if [ -s "$key" ]; then
  record key present
  record pub "$(wg pubkey <"$key")"
else
  record key absent
fi
if [ -f "$conf" ]; then
  record digest "$(without_node_keys "$conf" | sha)"
  if is_ours "$conf"; then record ours yes; else record ours no; fi
  grep -i -E '^[[:space:]]*(\[(interface|peer)\][[:space:]]*$|(publickey|endpoint)[[:space:]]*=)' "$conf" | sed 's/^/conf\t/' || true
fi
! stanza_mode || [ ! -f "$stanza_path" ] || record stanza-digest "$(sha <"$stanza_path")"
# the interface's pair key files, by name: one its config names no more is removed by apply
record pairkey-files "$(for file in "$key_dir/$iface"@*@*.psk; do [ ! -f "$file" ] || printf '%s ' "${file##*/}"; done)"
# the follower of endpoint names: its file, and the loop that runs (its interval and config)
if [ -f "$refresher" ]; then
  record refresher-digest "$(sha <"$refresher")"
  running_refresh=$(sh "$refresher" status "$iface" 2>/dev/null || true)
  [ -z "$running_refresh" ] || printf 'refresh\t%s\n' "$running_refresh"
fi
if link_exists; then
  record link "$(ip -j link show dev "$iface")"
  record addr "$(ip -j address show dev "$iface")"
  # every table's: the main table's routes, and a full tunnel's in a table of its own
  record route4 "$(ip -j -4 route show table all dev "$iface")"
  record route6 "$(ip -j -6 route show table all dev "$iface")"
  if wg show "$iface" listen-port >/dev/null 2>&1; then
    record listen "$(wg show "$iface" listen-port)"
    record fwmark "$(wg show "$iface" fwmark)"
    record public "$(wg show "$iface" public-key)"
    # a live pre-shared key that one of the interface's pair key files holds takes that file's
    # digest (one sha256sum for them all); any other is hashed alone. awk reads the files: the
    # keys stay in its memory and on the pipe, never in an argument
    wg show "$iface" dump | tail -n +2 | awk -F "$tab" -v OFS="$tab" -v dir="$key_dir" -v digests="$(key_digests "$key_dir/$iface"@*@*.psk)" '
      BEGIN {
        n = split(digests, lines, "\n")
        for (i = 1; i <= n; i++) {
          split(lines[i], f, " "); file = dir "/" f[1]
          if ((getline k < file) > 0 && (getline more < file) <= 0 && length(k) == 44) by_key[k] = f[2]
          close(file)
        }
      }
      $2 != "(none)" { $2 = ($2 in by_key) ? by_key[$2] : "?" $2 }
      { print }' | while IFS="$tab" read -r pub psk endpoint allowed handshake rx tx keepalive; do
      case $psk in "?"*) psk=$(printf '%s' "${psk#?}" | sha) ;; esac
      record peer "$pub" "$psk" "$endpoint" "$allowed" "$handshake" "$rx" "$tx" "$keepalive"
    done
  fi
fi
[ ! -f "$pve_fabrics_cfg" ] || pve_claims
# full tunnels: the policy rules, the routing tables in use from wg-quick's first one up
record rule4 "$(ip -j -4 rule show)"
record rule6 "$(ip -j -6 rule show)"
# and wg-quick's firewall of one (where nft is there to load it) and the source marks it relies on
if command -v nft >/dev/null; then
  record nft yes
  nft_tables=$(nft list tables 2>/dev/null || true)
  for pf in ip ip6; do
    case $nft_tables in *"table $pf wg-quick-$iface"*) record "nft-$pf" "$(nft -j list table "$pf" "wg-quick-$iface")" ;; esac
  done
fi
record src-valid-mark "$(sysctl -n net.ipv4.conf.all.src_valid_mark 2>/dev/null || true)"
record tables "$({ ip -o -4 route show table all; ip -o -6 route show table all; } 2>/dev/null | sed -n 's/.* table \([0-9][0-9]*\).*/\1/p' | sort -un | tr '\n' ' ')"
# where this session comes from (sshd sets SSH_CONNECTION="client port server port"), and the
# main table's routes to it
if [ -n "${SSH_CONNECTION:-}" ]; then
  record ssh-client "${SSH_CONNECTION%% *}"
  record ssh-routes "$(ip -j route show table main match "${SSH_CONNECTION%% *}")"
fi
if has_systemd; then
  record unit "$(systemctl is-enabled "wg-quick@$iface" 2>/dev/null || true)"
fi

# stdin: "resolve NAME" or "address IP" lines, one per endpoint host, and "pairkey FILE" lines,
# one per pair key the config names. A name is resolved here, in the resolver's order (wg takes
# the first), bounded in time; then the routes towards every address come from one ip -batch,
# with the MTU of every link and the default route, from which contract.ts works out the MTU
# wg-quick would pick. A pair key is reported by its digest, as wg's pre-shared keys are.
probe=""
pair_keys=""
while read -r kind host; do
  if [ "$kind" = pairkey ]; then
    ! is_pair_key_file "$host" || pair_keys="$pair_keys $key_dir/$host"
    continue
  fi
  case $host in '' | -* | *[!a-zA-Z0-9.:-]*) continue ;; esac
  addresses=$host
  if [ "$kind" = resolve ]; then
    addresses=$(timeout 5 getent ahosts "$host" 2>/dev/null | awk '!seen[$1]++ { print $1 }' || true)
    record resolved "$host" "$(printf '%s' "$addresses" | tr '\n' ' ')"
  fi
  probe="$probe $addresses"
done
# shellcheck disable=SC2086 # one path a word
key_digests $pair_keys | while read -r file digest _; do record pairkey "$file" "$digest"; done
if [ -n "${probe# }" ]; then
  # shellcheck disable=SC2086 # one address a word
  printf 'route get %s\n' $probe | ip -o -force -batch - 2>/dev/null | while IFS= read -r line; do record path "$line"; done
  # the node's own routes of the main table (not this interface's, which the plan replaces):
  # whether one keeps an endpoint out of the tunnel is decided in contract.ts and the plan
  for family in 4 6; do
    ip -o "-$family" route show table main 2>/dev/null |
      awk -v dev="$iface" '{ for (i = 1; i < NF; i++) if ($i == "dev" && $(i + 1) == dev) next; print }' |
      while IFS= read -r line; do record main-route "$family" "$line"; done
  done
fi
record default "$(ip -o route show default 2>/dev/null | head -n 1)"
record links "$(ip -j link show)"
