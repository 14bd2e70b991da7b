# Put in front of every node script by provider/remote/contract.ts, which defines the
# arguments, the stdin records and the output records in one place. Arguments arrive as
# positional parameters, already validated there and checked again here; secrets arrive only
# on stdin; nothing here decides what to change on the node (the plan says that).
# shellcheck disable=SC2034 # the variables are for the scripts this is put in front of
set -eu
umask 077
# from_key_dir and from_conf: where the files were until now (key_dir and conf unless they
# move); foreign_conf: where a config of the interface someone else wrote would be (wg-quick's,
# or Proxmox VE's SDN's); refresher: the follower of endpoint names beside the key
# (endpoint-refresh.sh), from_refresher where it was until now
iface=$1 key_dir=$2 mode=$3 owner=$4 conf=$5 stanza_path=$6 marker=$7 adopt=$8 from_key_dir=$9 from_conf=${10} foreign_conf=${11} refresher=${12} from_refresher=${13}
managed_prefix='@MANAGED_PREFIX@'
pair_key_marker='@PAIR_KEY_MARKER@'
pve_fabrics_cfg='@PVE_FABRICS_CFG@'
pve_check_exit=@PVE_CHECK_EXIT@
key="$key_dir/$iface.key"
tab=$(printf '\t')

die() { code=$1; shift; printf '%s\n' "$*" >&2; exit "$code"; }
need() { command -v "$1" >/dev/null 2>&1 || die 127 "$2 is not installed (no $1 command)"; }

# Names and paths become arguments of ip, wg and ifup: none may look like an option.
case $iface in '' | -* | *[!a-zA-Z0-9_=+.-]*) die 2 "refusing interface name '$iface'" ;; esac
for dir in "$key_dir" "$from_key_dir"; do
  case $dir in /*) ;; *) die 2 "refusing key folder '$dir': not an absolute path" ;; esac
  case $dir in *[!a-zA-Z0-9_./-]* | */../* | */..) die 2 "refusing key folder '$dir'" ;; esac
done
case $mode in wg-quick | ifupdown2 | proxmox | none) ;; *) die 2 "refusing apply mode '$mode'" ;; esac
case $adopt in yes | no) ;; *) die 2 "refusing adopt '$adopt'" ;; esac
case $owner in '' | */*/*/* | *[!a-zA-Z0-9_=+./-]*) die 2 "refusing owner '$owner'" ;; */*/*) ;; *) die 2 "refusing owner '$owner'" ;; esac
for path in "$conf" "$stanza_path" "$from_conf" "$foreign_conf" "$refresher" "$from_refresher"; do
  case $path in /*/*) ;; *) die 2 "refusing path '$path'" ;; esac
  case $path in *[!a-zA-Z0-9_=+./-]* | */../* | */.. | *//*) die 2 "refusing path '$path'" ;; esac
done
case $marker in "$managed_prefix for $owner: "*) ;; *) die 2 "refusing marker '$marker'" ;; esac

# A pair key's file in the key folder (pairKeyFile in TypeScript): IFACE@NODE@IFACE.psk.
is_pair_key_file() { case $1 in "$iface"@*@*.psk) case $1 in */* | *[!a-zA-Z0-9_=+.@-]*) false ;; *) true ;; esac ;; *) false ;; esac; }
# A config file without what only the node holds: its PrivateKey line, and the key line below
# each pair key's marker. Its digest is the digest of what was sent (configDigest in TypeScript).
without_node_keys() {
  awk -v m="$pair_key_marker" 'below { below = 0; if (index($0, "PresharedKey = ") == 1) next }
    /^PrivateKey = / { next } index($0, m) == 1 { below = 1 } { print }' "$1"
}

# A WireGuard key as wg prints it: 32 bytes of base64 (44 characters, one "=" at the end, the one
# before it one of those that leave the last byte's spare bits 0). No process: it runs per key.
is_key() {
  [ "${#1}" -eq 44 ] || return 1
  case $1 in *[!A-Za-z0-9+/=]* | *=*=*) return 1 ;; *[AEIMQUYcgkosw048]=) return 0 ;; *) return 1 ;; esac
}

# Prints "FILE DIGEST MTIME" for each key file given (a path without blanks) that exists: FILE
# its name, DIGEST the sha256 of the key as wg reads it (trailing blanks ignored), equal to the
# digest of the key in wg's dump (presharedKeyDigest in TypeScript), MTIME the file's in Unix
# seconds. The files we write hold the key alone, so one sha256sum takes them all.
key_digests() {
  found=""
  for file; do [ ! -f "$file" ] || found="$found $file"; done
  [ -n "$found" ] || return 0
  # shellcheck disable=SC2086 # one path a word
  info=$(stat -c '%s %Y %n' -- $found)
  set --
  others=""
  while read -r size _ file; do
    if [ "$size" = 44 ]; then set -- "$@" "$file"; else others="$others$(tr -d '[:space:]' <"$file" | sha256sum | cut -d ' ' -f 1)  $file
"; fi
  done <<EOF
$info
EOF
  { printf '%s\n--\n' "$info"; [ $# -eq 0 ] || sha256sum -- "$@"; printf '%s' "$others"; } |
    awk 'sums == 0 && $0 == "--" { sums = 1; next } sums == 0 { mtime[$3] = $2; next }
      { file = $2; sub(/^.*\//, "", file); print file, $1, mtime[$2] }'
}

# Files we wrote start with our marker; others are never overwritten or removed.
is_ours() { [ ! -e "$1" ] || case "$(head -n 1 "$1")" in "$managed_prefix"*) true ;; *) false ;; esac; }
is_mine() { [ -e "$1" ] && [ "$(head -n 1 "$1")" = "$marker" ]; }
# A file of ours written for this fabric (any of its names: a renamed node's too).
is_this_fabrics() { [ -e "$1" ] && is_ours "$1" && [ "$(fabric_of "$(holder_of "$1")")" = "$(fabric_of "$owner")" ]; }
# The fabric of an owner (`fabric/node/iface`), and the owner a file of ours names in its marker.
fabric_of() { printf '%s' "${1%%/*}"; }
holder_of() { sed -n "1s|^$managed_prefix for \([^:]*\): .*\$|\1|p" "$1"; }
# A file of another fabric (another stack) is not taken over unless the node says adopt.
refuse_other_fabric() {
  [ -e "$1" ] || return 0
  holder=$(holder_of "$1")
  [ -z "$holder" ] || [ "$(fabric_of "$holder")" = "$(fabric_of "$owner")" ] || [ "$adopt" = yes ] ||
    die 5 "$1 belongs to $holder (fabric $(fabric_of "$holder")); set adopt: true on the node to take it over"
}
# ifupdown2 and proxmox modes write a stanza beside the config (writesStanza in TypeScript)
stanza_mode() { [ "$mode" = ifupdown2 ] || [ "$mode" = proxmox ]; }
link_exists() { ip link show dev "$iface" >/dev/null 2>&1; }
has_systemd() { command -v systemctl >/dev/null 2>&1 && [ -e /lib/systemd/system/wg-quick@.service ]; }

# A key folder is safe when it and every folder above it belong to root and no one else may
# write to them: otherwise another local user could plant a key or race a rename. Symbolic
# links are followed to where they lead, and that path is checked.
check_key_dir() {
  dir=$1
  while [ ! -e "$dir" ]; do dir=${dir%/*}; [ -n "$dir" ] || dir=/; done
  dir=$(readlink -f "$dir")
  while :; do
    info=$(stat -c '%u %a' "$dir")
    uid=${info%% *} perm=${info#* }
    [ "$uid" = 0 ] || die 2 "refusing key folder $1: $dir belongs to uid $uid, not root"
    [ $((0$perm & 022)) -eq 0 ] || die 2 "refusing key folder $1: $dir (mode $perm) is writable by group or others"
    [ "$dir" != / ] || break
    dir=${dir%/*}
    [ -n "$dir" ] || dir=/
  done
}

# Proxmox VE's own WireGuard fabrics on this node, for contract.ts to check ours against: the
# node's name as Proxmox VE uses it (host name without domain) and the lines of its fabrics.cfg
# that name nodes, their interfaces and their own addresses (no secret: Proxmox VE keeps private
# keys in another file).
pve_claims() {
  node_name=$(uname -n)
  printf 'pve-node\t%s\n' "${node_name%%.*}"
  grep -n -E '^(wireguard_node:|[[:space:]]+(interfaces|ip|ip6)[[:space:]])' "$pve_fabrics_cfg" | sed 's/^/pve-line\t/' || true
}

# Takes away the link of a stanza of ours being removed, for good: the stanza goes first, then
# an ifup, ifdown or ifreload that runs now is waited for (ifupdown2 holds /run/network/.lock
# while it runs: ifupdown/main.py), as one that read the stanza (a Proxmox VE network apply)
# makes its link again; then the link goes. $1: the stanza. ifdown, which reads it, is run before.
remove_stanza_link() {
  rm -f "$1"
  [ ! -e /run/network/.lock ] || flock -w 60 /run/network/.lock true 9>&- || true
  ! link_exists || ip link delete dev "$iface"
}

# One run at a time changes a node: a lock for the whole node, waited for a bounded time, its
# holder named when the wait runs out.
lock_node() {
  mkdir -p /run/lock
  exec 9>>/run/lock/wg-fabric.lock
  if ! flock -w "${WG_FABRIC_LOCK_WAIT:-60}" 9; then
    die 75 "another run is changing this node (held by $(cat /run/lock/wg-fabric.lock.owner 2>/dev/null || echo unknown)); gave up after ${WG_FABRIC_LOCK_WAIT:-60} s"
  fi
  printf '%s\n' "$owner" >/run/lock/wg-fabric.lock.owner
}
