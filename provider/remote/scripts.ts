/**
 * The shell scripts that run on a node. Constant text: arguments arrive as positional
 * parameters (validated and quoted by the caller), secrets only on stdin or produced on the
 * node. Every script is idempotent and leaves nothing half-written: files are staged in a
 * private folder and renamed into place.
 */

/** How every config file we write begins; files that don't are not ours to touch. */
export const MANAGED_PREFIX = "# Managed by pulumi-wireguard-fabric";

/**
 * The first line of a config file written for `owner` (`fabric/node/iface`): a renamed node
 * or fabric takes the file over, and the old owner's delete then leaves it alone.
 */
export function managedMarker(owner: string): string {
  return `${MANAGED_PREFIX} for ${owner}: changes here are overwritten.`;
}

const PRELUDE = `set -eu
command -v wg >/dev/null 2>&1 || { echo "wireguard-tools is not installed (no wg command)" >&2; exit 127; }
umask 077
`;

/**
 * args: keyDir iface owner. Prints the public key; generates the private key only if none
 * exists (an existing one is adopted) and records its owner.
 */
export const ENSURE_KEY = `${PRELUDE}dir=$1 iface=$2 owner=$3
mkdir -p "$dir"
key="$dir/$iface.key"
if [ ! -s "$key" ]; then
  wg genkey > "$key.tmp"
  mv -f "$key.tmp" "$key"
fi
pub=$(wg pubkey < "$key")
if [ "$(cat "$dir/$iface.pub" 2>/dev/null || true)" != "$pub" ]; then
  printf '%s\\n' "$pub" > "$dir/$iface.pub.tmp"
  mv -f "$dir/$iface.pub.tmp" "$dir/$iface.pub"
fi
[ "$(cat "$dir/$iface.owner" 2>/dev/null || true)" = "$owner" ] || printf '%s\\n' "$owner" > "$dir/$iface.owner"
printf '%s\\n' "$pub"
`;

/** args: keyDir iface owner. Deletes the key unless another owner has taken it over. */
export const REMOVE_KEY = `set -eu
dir=$1 iface=$2 owner=$3
if [ -e "$dir/$iface.owner" ] && [ "$(cat "$dir/$iface.owner")" != "$owner" ]; then
  echo "kept $dir/$iface.key: it now belongs to $(cat "$dir/$iface.owner")" >&2
  exit 0
fi
rm -f "$dir/$iface.key" "$dir/$iface.pub" "$dir/$iface.owner" "$dir/$iface.key.tmp" "$dir/$iface.pub.tmp"
rmdir "$dir" 2>/dev/null || true
`;

// Where each apply mode keeps the config: wg-quick's folder, or beside the keys for ifupdown2.
const CONF_PATH = `case $mode in
  ifupdown2) conf="$dir/$iface.conf" ;;
  *) conf="/etc/wireguard/$iface.conf" ;;
esac
stanza_path="/etc/network/interfaces.d/wg-fabric-$iface"
marker="${MANAGED_PREFIX} for $owner: changes here are overwritten."
is_ours() { [ ! -e "$1" ] || case "$(head -n 1 "$1")" in "${MANAGED_PREFIX}"*) true ;; *) false ;; esac; }
is_mine() { [ -e "$1" ] && [ "$(head -n 1 "$1")" = "$marker" ]; }
`;

/**
 * args: keyDir iface mode owner; stdin: "<config bytes>\\n<config><ifupdown2 stanza>".
 * Inserts the node's own private key, writes the config if it differs and brings it live
 * without dropping tunnels. Prints "changed=0|1".
 */
export const INSTALL = `${PRELUDE}dir=$1 iface=$2 mode=$3 owner=$4
${CONF_PATH}key="$dir/$iface.key"
[ -s "$key" ] || { echo "no private key at $key: the interface key must be created first" >&2; exit 3; }
is_ours "$conf" || { echo "$conf exists and was not written by pulumi-wireguard-fabric; move it away to let us manage $iface" >&2; exit 5; }
is_up() { ip link show dev "$iface" >/dev/null 2>&1; }
if is_up && [ ! -e "$conf" ]; then
  echo "$iface is up but was not set up by pulumi-wireguard-fabric (no $conf); take it down to let us manage it" >&2
  exit 5
fi
stage="$dir/.staging-$iface"
rm -rf "$stage"
mkdir -p "$stage"
trap 'rm -rf "$stage"' EXIT
read -r length
head -c "$length" > "$stage/body"
cat > "$stage/stanza"
# the private key is read by awk from its file: it never appears in an argument or on the wire
{ printf '%s\\n' "$marker"
  awk -v keyfile="$key" '{ print } $0 == "[Interface]" && !done { getline k < keyfile; print "PrivateKey = " k; done = 1 }' "$stage/body"
} > "$stage/$iface.conf"
changed=1
if [ -f "$conf" ] && cmp -s "$conf" "$stage/$iface.conf"; then changed=0; fi

sync_addresses() {
  want=$(sed -n 's/^[[:space:]]*Address[[:space:]]*=[[:space:]]*//p' "$stage/$iface.conf" | tr ',' '\\n' | tr -d ' \\t')
  have=$(ip -o addr show dev "$iface" scope global | awk '{ print $4 }')
  # deletions first: removing a subnet's primary address also removes the secondaries
  for a in $have; do printf '%s\\n' "$want" | grep -qxF "$a" || ip addr del "$a" dev "$iface"; done
  for a in $want; do printf '%s\\n' "$have" | grep -qxF "$a" || ip addr add "$a" dev "$iface"; done
}

# wg-quick routes every AllowedIP not already covered by a route on the interface; syncconf
# does not, so add the new ones and drop those wg-quick added for peers that are gone.
sync_routes() {
  want=$(wg show "$iface" allowed-ips | cut -f 2- | tr ' \\t' '\\n\\n' | grep -v -e '^$' -e '^(none)$' -e '/0$' || true)
  for r in $want; do
    [ -n "$(ip route show dev "$iface" match "$r" 2>/dev/null)" ] || ip route add "$r" dev "$iface"
  done
  for family in -4 -6; do
    ip "$family" route show dev "$iface" proto boot | awk '{ print $1 }' | while read -r r; do
      case $r in */*) full=$r ;; *:*) full=$r/128 ;; *) full=$r/32 ;; esac
      printf '%s\\n' "$want" | grep -qxF "$full" || ip "$family" route del "$r" dev "$iface"
    done
  done
}

# Applies to a live interface only what differs from its running state (wg syncconf would
# re-set every peer's AllowedIPs, an instant in which live tunnels drop packets): changed or
# new peers and [Interface] values go in one "wg addconf", which parses the whole file before
# changing anything; peers no longer declared are removed after it succeeded.
sync_peers() {
  wg showconf "$iface" > "$stage/running"
  awk -v changed="$stage/changed" -v removed="$stage/removed" '
    function field(line) { sub(/^[^=]*=[ \\t]*/, "", line); sub(/[ \\t]+$/, "", line); return line }
    function sorted(list,   n, i, j, t, a, out) {
      n = split(list, a, /[ \\t]*,[ \\t]*/)
      for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      out = ""; for (i = 1; i <= n; i++) if (a[i] != "") out = out "," a[i]
      return out
    }
    function close_peer() {
      if (key == "") return
      ips[f, key] = sorted(ips[f, key])
      if (f == 2) { order[++count] = key; block[key] = raw }
      key = ""; raw = ""
    }
    FNR == 1 { close_peer(); f++; section = "" }
    /^[ \\t]*\\[Interface\\]/ { close_peer(); section = "interface"; next }
    /^[ \\t]*\\[Peer\\]/ { close_peer(); section = "peer"; raw = "[Peer]\\n"; next }
    /=/ {
      name = tolower($0); sub(/[ \\t]*=.*/, "", name); sub(/^[ \\t]+/, "", name)
      if (section == "interface") { own[f, name] = field($0); if (f == 2) ownline[name] = $0; next }
      if (section != "peer") next
      raw = raw $0 "\\n"
      if (name == "publickey") { key = field($0); seen[f, key] = 1 }
      else if (name == "allowedips") ips[f, key] = ips[f, key] "," field($0)
      else if (name == "endpoint") endpoint[f, key] = field($0)
      else if (name == "presharedkey") psk[f, key] = field($0)
      else if (name == "persistentkeepalive") keepalive[f, key] = (field($0) == "off" ? "0" : field($0))
    }
    END {
      close_peer()
      out = ""
      for (name in ownline) if (own[2, name] != own[1, name]) out = out ownline[name] "\\n"
      if (out != "") out = "[Interface]\\n" out
      for (i = 1; i <= count; i++) {
        k = order[i]
        same = seen[1, k] && ips[1, k] == ips[2, k] && psk[1, k] == psk[2, k] && (keepalive[1, k] + 0) == (keepalive[2, k] + 0) && (endpoint[2, k] == "" || endpoint[2, k] == endpoint[1, k])
        if (!same) out = out "\\n" block[k]
      }
      printf "%s", out > changed
      printf "" > removed
      for (pair in seen) { split(pair, part, SUBSEP); if (part[1] == 1 && !seen[2, part[2]]) print part[2] > removed }
    }
  ' "$stage/running" "$stage/stripped"
  [ ! -s "$stage/changed" ] || wg addconf "$iface" "$stage/changed"
  while read -r peer; do wg set "$iface" peer "$peer" remove; done < "$stage/removed"
}

sync_mtu() {
  mtu=$(sed -n 's/^[[:space:]]*MTU[[:space:]]*=[[:space:]]*//p' "$stage/$iface.conf")
  [ -z "$mtu" ] || ip link set dev "$iface" mtu "$mtu"
}

case $mode in
  wg-quick)
    mkdir -p /etc/wireguard
    if is_up; then
      if [ "$changed" = 1 ]; then
        # a config wg-quick cannot strip or wg cannot parse stops here: the interface never
        # sees an empty or partial config (that would drop every live peer)
        wg-quick strip "$stage/$iface.conf" > "$stage/stripped"
        grep -q '^\\[Interface\\]' "$stage/stripped" || { echo "stripped config of $iface is empty; not applied" >&2; exit 4; }
        sync_peers
        sync_addresses
        sync_routes
        sync_mtu
        mv -f "$stage/$iface.conf" "$conf"
      fi
    else
      # in place first: a failed up (say, an endpoint that does not resolve yet) is retried
      # by the next run, which finds the same file and the interface still down
      [ "$changed" = 0 ] || mv -f "$stage/$iface.conf" "$conf"
      wg-quick up "$conf" >&2
    fi
    ;;
  ifupdown2)
    command -v ifreload >/dev/null 2>&1 || { echo "ifupdown2 is not installed (no ifreload command)" >&2; exit 127; }
    is_ours "$stanza_path" || { echo "$stanza_path exists and was not written by pulumi-wireguard-fabric" >&2; exit 5; }
    { printf '%s\\n' "$marker"; cat "$stage/stanza"; } > "$stage/stanza.full"
    if [ "$changed" = 1 ] && is_up; then
      cp "$stage/$iface.conf" "$stage/stripped"
      sync_peers
    fi
    [ "$changed" = 0 ] || mv -f "$stage/$iface.conf" "$conf"
    if ! cmp -s "$stage/stanza.full" "$stanza_path"; then
      mkdir -p /etc/network/interfaces.d
      chmod 0644 "$stage/stanza.full"
      mv -f "$stage/stanza.full" "$stanza_path"
      changed=1
    fi
    if [ "$changed" = 1 ] || ! is_up; then
      ifreload -a >&2
      # ifreload reports success even when a pre-up command failed: check the result
      is_up || { echo "ifreload -a did not bring $iface up; see the stanza in $stanza_path" >&2; exit 6; }
    fi
    ;;
  none)
    mkdir -p "$(dirname "$conf")"
    [ "$changed" = 0 ] || mv -f "$stage/$iface.conf" "$conf"
    ;;
esac
echo "changed=$changed"
`;

/**
 * args: keyDir iface mode owner. Takes the interface down and removes its config files, unless
 * another owner (a renamed node or fabric) has taken the interface over.
 */
export const REMOVE = `set -eu
dir=$1 iface=$2 mode=$3 owner=$4
${CONF_PATH}if ! is_mine "$conf" && ! is_mine "$stanza_path"; then
  echo "left $iface alone: no config of $owner for it (gone, or taken over by another owner)" >&2
  exit 0
fi
if ip link show dev "$iface" >/dev/null 2>&1; then
  if [ "$mode" = ifupdown2 ] && command -v ifdown >/dev/null 2>&1; then ifdown "$iface" >&2 || true; fi
  if [ "$mode" = wg-quick ] && [ -f "$conf" ]; then wg-quick down "$conf" >&2 || true; fi
  ! ip link show dev "$iface" >/dev/null 2>&1 || ip link delete dev "$iface"
fi
for f in "$conf" "$stanza_path"; do
  if is_mine "$f"; then rm -f "$f"; fi
done
rm -rf "$dir/.staging-$iface"
`;

/**
 * args: keyDir iface mode owner. What is on the node now, one fact a line (tab separated):
 * key present|absent, pub, digest of the config without its PrivateKey line, whether it is
 * ours, and the running interface (listen port, addresses, peers). The first line of
 * \`wg show dump\` holds the private key: awk skips it on the node, and pre-shared keys are
 * dropped too.
 */
export const INSPECT = `set -eu
dir=$1 iface=$2 mode=$3 owner=$4
${CONF_PATH}command -v wg >/dev/null 2>&1 || { echo "wireguard-tools is not installed (no wg command)" >&2; exit 127; }
if [ -s "$dir/$iface.key" ]; then
  printf 'key\\tpresent\\n'
  printf 'pub\\t%s\\n' "$(wg pubkey < "$dir/$iface.key")"
else
  printf 'key\\tabsent\\n'
fi
if [ -f "$conf" ]; then
  printf 'digest\\t%s\\n' "$(grep -v '^PrivateKey = ' "$conf" | sha256sum | cut -d ' ' -f 1)"
  if is_ours "$conf"; then printf 'ours\\tyes\\n'; else printf 'ours\\tno\\n'; fi
fi
if ip link show dev "$iface" >/dev/null 2>&1; then
  printf 'up\\tyes\\n'
  printf 'listen\\t%s\\n' "$(wg show "$iface" listen-port 2>/dev/null || true)"
  printf 'public\\t%s\\n' "$(wg show "$iface" public-key 2>/dev/null || true)"
  ip -o addr show dev "$iface" scope global | awk '{ print "addr\\t" $4 }'
  wg show "$iface" dump | awk -F '\\t' 'NR > 1 { print "peer\\t" $1 "\\t" $3 "\\t" $4 "\\t" $5 "\\t" $6 "\\t" $7 "\\t" $8 }'
else
  printf 'up\\tno\\n'
fi
`;
