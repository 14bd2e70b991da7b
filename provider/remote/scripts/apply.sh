# shellcheck source=common.sh
. "${0%/*}/common.sh"
# Executes a plan made by planSync (TypeScript decides; this only runs it), then writes the
# interface's files. stdin: records "NAME LENGTH\n" + LENGTH bytes: `config` (no PrivateKey:
# the node inserts its own), `stanza` (ifupdown2 and proxmox modes), `refresher` (the follower of
# endpoint names, endpoint-refresh.sh, when the files start one), `plan` (one command a line, fields
# tab-separated, see encodePlan) and `psk.N` (pre-shared keys the plan refers to). Each
# command is logged on stderr as wg-quick does; the first that fails stops the run, naming
# the command and its error. The config file of a running interface is replaced only once it
# matches; a config of this fabric where the interface's files were until now (an older
# release's layout, a changed key folder) is removed once the new one is in place. Prints
# "changed=0|1" (1 when a step ran or a file was rewritten).
check_key_dir "$key_dir"
lock_node
need wg wireguard-tools
[ -s "$key" ] || die 3 "no private key at $key: the interface key must be created first"
# a file someone else wrote (Proxmox VE's SDN, by hand) is taken over only when the node says adopt:
# the running link is then brought to the declaration step by step, never taken down
is_ours "$conf" || [ "$adopt" = yes ] || die 5 "$conf exists and was not written by pulumi-wireguard-fabric; set adopt: true on the node to take it over, or move it away"
! stanza_mode || is_ours "$stanza_path" || [ "$adopt" = yes ] || die 5 "$stanza_path exists and was not written by pulumi-wireguard-fabric; set adopt: true on the node to take it over"
refuse_other_fabric "$conf"
! stanza_mode || refuse_other_fabric "$stanza_path"
# a link with no config of ours was set up by someone else: neither taken over nor changed,
# unless it runs our key (its config was lost: Proxmox VE's network apply deleted the files of
# releases before 0.3) or the node adopts what someone else's config (Proxmox VE's SDN) set up
runs_our_key() { [ "$(wg show "$iface" public-key 2>/dev/null)" = "$(wg pubkey <"$key")" ]; }
if link_exists && [ ! -e "$conf" ] && ! is_this_fabrics "$from_conf" && ! runs_our_key && ! { [ "$adopt" = yes ] && [ -e "$foreign_conf" ]; }; then
  die 5 "$iface is up but was not set up by pulumi-wireguard-fabric (no $conf); take it down to let us manage it"
fi

mkdir -p "$key_dir"
stage=$(mktemp -d "$key_dir/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
while read -r name length; do
  case $name in config | stanza | refresher | plan | psk.[0-9] | psk.[0-9][0-9] | psk.[0-9][0-9][0-9]) ;; *) die 2 "unexpected stdin record '$name'" ;; esac
  case $length in '' | *[!0-9]*) die 2 "record $name has no length" ;; esac
  head -c "$length" >"$stage/$name"
done
for name in config stanza plan; do [ -f "$stage/$name" ] || : >"$stage/$name"; done
wants_refresher=no
[ ! -e "$stage/refresher" ] || wants_refresher=yes

# The file as the node keeps it: our marker, then its own private key after [Interface], and
# each pair key below its marker. Keys are read by awk from their files: never an argument nor
# on the wire.
awk -v m="$pair_key_marker" 'index($0, m) == 1 { split(substr($0, length(m) + 1), f, " "); print f[1] }' "$stage/config" >"$stage/pair-keys"
while read -r file; do
  is_pair_key_file "$file" || die 2 "refusing pair key file '$file'"
  [ -s "$key_dir/$file" ] || die 3 "no pair key at $key_dir/$file: the fabric's pair keys must be made first"
done <"$stage/pair-keys"
{
  printf '%s\n' "$marker"
  awk -v keyfile="$key" -v dir="$key_dir" -v m="$pair_key_marker" '{ print }
    $0 == "[Interface]" && !done { getline k < keyfile; print "PrivateKey = " k; done = 1 }
    index($0, m) == 1 { split(substr($0, length(m) + 1), f, " "); file = dir "/" f[1]; getline p < file; close(file); print "PresharedKey = " p }' "$stage/config"
} >"$stage/$iface.conf"
if [ "$mode" = wg-quick ]; then
  need wg-quick wireguard-tools
  # what the boot unit will load must load: a config wg-quick refuses stops here, before any change
  # (its error quotes the line it refuses: key values are blanked before they leave the node)
  wg-quick strip "$stage/$iface.conf" >/dev/null 2>"$stage/err" ||
    die 4 "wg-quick refuses the config of $iface: $(sed 's/\(Key[[:space:]]*=[[:space:]]*\)[^`]*/\1[redacted]/' "$stage/err")"
fi
! stanza_mode || { printf '%s\n' "$marker"; cat "$stage/stanza"; } >"$stage/stanza.full"

restore_port=""
run() {
  printf '[#] %s\n' "$*" >&2
  # 9>&-: a daemon started here (wireguard-go) must not keep the node's lock
  if ! "$@" </dev/null >"$stage/out" 2>&1 9>&-; then
    # wireguard-go lets go of its port before it binds the new one: never leave it listening nowhere
    [ -z "$restore_port" ] || wg set "$iface" listen-port "$restore_port" >/dev/null 2>&1 || true
    die 4 "step failed: $* ($(tr '\n' ' ' <"$stage/out"))"
  fi
  cat "$stage/out" >&2
}

changed=0
refresher_replaced=0
# Replaces a file by its staged version when they differ (flushed first, then renamed); a
# staged file already moved into place is done.
put() {
  if [ -e "$1" ] && ! cmp -s "$1" "$2"; then
    mkdir -p "${2%/*}"
    chmod "$3" "$1"
    sync "$1"
    mv -f "$1" "$2"
    changed=1
  fi
}
install_files() {
  if [ -e "$stage/refresher" ]; then
    cmp -s "$stage/refresher" "$refresher" || refresher_replaced=1
    put "$stage/refresher" "$refresher" 0600
  fi
  case $mode in
    wg-quick | none) put "$stage/$iface.conf" "$conf" 0600 ;;
    ifupdown2 | proxmox)
      put "$stage/$iface.conf" "$conf" 0600
      put "$stage/stanza.full" "$stanza_path" 0644
      ;;
  esac
}

link_add() {
  printf '[#] ip link add dev %s type wireguard\n' "$iface" >&2
  ip link add dev "$iface" type wireguard 2>/dev/null 9>&- && return 0
  # no kernel module (a container, or the lab): the userspace implementation, as wg-quick does,
  # without IPv6 address generation, as the kernel makes a WireGuard link
  run "${WG_QUICK_USERSPACE_IMPLEMENTATION:-wireguard-go}" "$iface"
  run ip link set dev "$iface" addrgenmode none
}

# A `wg` line: one wg set for several peers, each `peer=KEY` then its fields or `remove`.
wg_set() {
  count=$#
  while [ "$count" -gt 0 ]; do
    field=$1
    shift
    count=$((count - 1))
    case $field in
      peer=*) set -- "$@" peer "${field#peer=}" ;;
      remove) set -- "$@" remove ;;
      psk=-) set -- "$@" preshared-key /dev/null ;;
      psk=*) set -- "$@" preshared-key "$stage/psk.${field#psk=}" ;;
      pskfile=*)
        is_pair_key_file "${field#pskfile=}" || die 2 "refusing pair key file '${field#pskfile=}'"
        set -- "$@" preshared-key "$key_dir/${field#pskfile=}"
        ;;
      endpoint=*) set -- "$@" endpoint "${field#endpoint=}" ;;
      keepalive=*) set -- "$@" persistent-keepalive "${field#keepalive=}" ;;
      allowed=*) set -- "$@" allowed-ips "${field#allowed=}" ;;
      *) die 2 "unexpected wg field '$field'" ;;
    esac
  done
  run wg set "$iface" "$@"
}

# An `ip` line: address and route steps, run by one ip -batch (ip infers each family).
ip_batch() {
  : >"$stage/batch"
  for field in "$@"; do
    case $field in
      addr-add=*) printf 'address add %s dev %s\n' "${field#*=}" "$iface" ;;
      addr-del=*) printf 'address del %s dev %s\n' "${field#*=}" "$iface" ;;
      route-replace=*) printf 'route replace %s dev %s\n' "${field#*=}" "$iface" ;;
      route-del=*) printf 'route del %s dev %s\n' "${field#*=}" "$iface" ;;
      table-route-replace=* | table-route-del=*)
        rest=${field#*=} action=replace
        case $field in table-route-del=*) action=del ;; esac
        case ${rest%%=*} in '' | *[!0-9]*) die 2 "unexpected table in '$field'" ;; esac
        printf 'route %s %s dev %s table %s\n' "$action" "${rest#*=}" "$iface" "${rest%%=*}"
        ;;
      *) die 2 "unexpected ip field '$field'" ;;
    esac >>"$stage/batch"
  done
  printf '[#] ip -batch: %s\n' "$(tr '\n' ';' <"$stage/batch")" >&2
  ip -batch "$stage/batch" </dev/null >"$stage/out" 2>&1 || die 4 "step failed: ip -batch: $(tr '\n' ';' <"$stage/batch") ($(tr '\n' ' ' <"$stage/out"))"
}

# one nftables transaction (a full tunnel's firewall, as wg-quick loads it): all of it or none
nft_transaction() {
  need nft nftables
  printf '%s\n' "$1" >"$stage/nft"
  printf '[#] nft -f: %s\n' "$1" >&2
  nft -f "$stage/nft" </dev/null >"$stage/out" 2>&1 || die 4 "step failed: nft -f: $1 ($(tr '\n' ' ' <"$stage/out"))"
}

# wg resolves endpoint names with retries for about a minute by default: keep that short
export WG_ENDPOINT_RESOLUTION_RETRIES="${WG_ENDPOINT_RESOLUTION_RETRIES:-3}"
steps=0
refresh_step=""
while IFS= read -r line; do
  [ -n "$line" ] || continue
  steps=$((steps + 1))
  old_ifs=$IFS
  IFS=$tab
  set -f
  # shellcheck disable=SC2086 # split on tabs: the step's fields
  set -- $line
  set +f
  IFS=$old_ifs
  step=$1
  shift
  case $step in
    link-add)
      # a new interface has no earlier file to keep: write it first, so the link is known as ours
      install_files
      link_add
      ;;
    ifup)
      need ifup ifupdown2
      install_files
      run ifup "$iface"
      link_exists || die 6 "ifup did not bring $iface up; see the stanza in $stanza_path"
      ;;
    link-up) run ip link set dev "$iface" up ;;
    private-key) run wg set "$iface" private-key "$key" ;;
    listen-port)
      restore_port=${2:-}
      run wg set "$iface" listen-port "$1"
      restore_port=""
      ;;
    mtu) run ip link set dev "$iface" mtu "$1" ;;
    fwmark) run wg set "$iface" fwmark "$1" ;;
    rule)
      # a full tunnel's rules, as wg-quick adds them: rule add|del FAMILY fwmark TABLE | suppress
      case "$1 $2 $3" in "add 4 "* | "add 6 "* | "del 4 "* | "del 6 "*) ;; *) die 2 "unexpected rule '$*'" ;; esac
      case $3 in
        fwmark) case ${4:-} in '' | *[!0-9]*) die 2 "unexpected rule '$*'" ;; esac; run ip "-$2" rule "$1" not fwmark "$4" table "$4" ;;
        suppress) run ip "-$2" rule "$1" table main suppress_prefixlength 0 ;;
        *) die 2 "unexpected rule '$*'" ;;
      esac
      ;;
    nft) nft_transaction "$1" ;;
    src-valid-mark) run sysctl -q net.ipv4.conf.all.src_valid_mark=1 ;;
    wg) wg_set "$@" ;;
    ip) ip_batch "$@" ;;
    unit-enable) run systemctl enable "wg-quick@$iface" ;;
    # run once the files are in place (below): the follower reads the new config
    endpoint-refresh) refresh_step=$* ;;
    *) die 2 "unknown step '$step'" ;;
  esac
done <"$stage/plan"
install_files
# the follower of endpoint names: (re)started or stopped as the plan says, restarted when its
# file changed under a running loop, and its file removed when the files start none
case $refresh_step in
  "start "*)
    set -f
    # shellcheck disable=SC2086 # the step's fields: start INTERVAL CONFIG
    set -- $refresh_step
    set +f
    run sh "$refresher" start "$iface" "$2" "$3"
    ;;
  stop) [ ! -f "$refresher" ] || run sh "$refresher" stop "$iface" ;;
  *)
    running_refresh=""
    [ "$refresher_replaced" = 0 ] || running_refresh=$(sh "$refresher" status "$iface" 2>/dev/null || true)
    [ -z "$running_refresh" ] || run sh "$refresher" start "$iface" "${running_refresh%%"$tab"*}" "${running_refresh#*"$tab"}"
    ;;
esac
# pair keys this interface's config names no more (a dissolved peering, pair keys turned off):
# their files go with the config that used them, on each end, whether the other end is reachable
for file in "$key_dir/$iface"@*@*.psk; do
  [ -f "$file" ] || continue
  grep -qxF "${file##*/}" "$stage/pair-keys" || { rm -f "$file"; changed=1; }
done
if [ "$wants_refresher" = no ] && [ -e "$refresher" ]; then rm -f "$refresher"; changed=1; fi
if [ "$from_refresher" != "$refresher" ] && [ -e "$from_refresher" ]; then rm -f "$from_refresher"; changed=1; fi
if [ "$from_conf" != "$conf" ] && is_this_fabrics "$from_conf"; then
  rm -f "$from_conf"
  # the key folder it was in is left when it is empty (wg-quick's own folder is never removed)
  [ "${from_conf%/*}" != "$from_key_dir" ] || rmdir "$from_key_dir" 2>/dev/null || true
  changed=1
fi
[ "$steps" -eq 0 ] || changed=1
echo "changed=$changed"
