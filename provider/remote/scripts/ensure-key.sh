# shellcheck source=common.sh
. "${0%/*}/common.sh"
# Prints the interface's public key. The private key is made here, under umask 077, only if
# none exists, and never leaves the node. An existing key is adopted (recorded as such in its
# .owner file, so our delete leaves it in place) when someone else made it (Proxmox, by hand),
# taken over when another name of this fabric made it (a renamed node), and refused when
# another fabric owns it, unless the node says adopt. With adopt and no key file, the key of a
# config someone else wrote is kept (Proxmox VE's SDN has it in its config only), so the
# running interface keeps its key when we take it over.
need wg wireguard-tools
check_key_dir
lock_node
# no key is made for an interface whose config someone else wrote: we could not apply it anyway
is_ours "$conf" || [ "$adopt" = yes ] || die 5 "$conf exists and was not written by pulumi-wireguard-fabric; set adopt: true on the node to take it over with its key, or move it away"
mkdir -p "$key_dir"
owner_file="$key_dir/$iface.owner"
adopted=no
if [ -e "$key" ]; then
  # adopt only a key that is root's own and readable by no one else (as Proxmox writes them)
  info=$(stat -c '%u %a %F' "$key")
  # an empty one is no key (a key generation that was cut short): made anew below
  case $info in "0 600 regular file" | "0 400 regular file" | "0 600 regular empty file") ;; *) die 2 "refusing to adopt $key: it is not root's own 0600 file ($info)" ;; esac
  if [ -e "$owner_file" ]; then
    holder=$(head -n 1 "$owner_file")
    if [ "$(fabric_of "$holder")" != "$(fabric_of "$owner")" ]; then
      [ "$adopt" = yes ] || die 5 "$key belongs to $holder (fabric $(fabric_of "$holder")); set adopt: true on the node to take it over"
      adopted=yes
    fi
    [ "$(sed -n 2p "$owner_file")" != adopted ] || adopted=yes
  else
    adopted=yes
  fi
fi
if [ ! -e "$key" ] && [ "$adopt" = yes ] && [ -f "$conf" ] && ! is_ours "$conf"; then
  staged=$(mktemp "$key_dir/.key.XXXXXX")
  sed -n 's/^[[:space:]]*[Pp][Rr][Ii][Vv][Aa][Tt][Ee][Kk][Ee][Yy][[:space:]]*=[[:space:]]*\([^[:space:]]*\)[[:space:]]*$/\1/p' "$conf" | head -n 1 >"$staged"
  if is_key "$(cat "$staged")"; then
    sync "$staged"
    mv -f "$staged" "$key"
    adopted=yes
  else
    rm -f "$staged"
  fi
fi
if [ ! -s "$key" ]; then
  staged=$(mktemp "$key_dir/.key.XXXXXX")
  wg genkey >"$staged"
  # only a whole key goes into place (a wg that hung or failed prints nothing)
  is_key "$(cat "$staged")" || { rm -f "$staged"; die 1 "wg genkey did not print a key; $key is left as it was"; }
  sync "$staged"
  mv -f "$staged" "$key"
fi
pub=$(wg pubkey <"$key")
is_key "$pub" || die 1 "wg pubkey did not print a key for $key"
if [ "$(cat "$key_dir/$iface.pub" 2>/dev/null || true)" != "$pub" ]; then
  staged=$(mktemp "$key_dir/.pub.XXXXXX")
  printf '%s\n' "$pub" >"$staged"
  chmod 0644 "$staged"
  mv -f "$staged" "$key_dir/$iface.pub"
fi
record=$owner
[ "$adopted" = no ] || record=$(printf '%s\nadopted' "$owner")
[ "$(cat "$owner_file" 2>/dev/null || true)" = "$record" ] || printf '%s\n' "$record" >"$owner_file"
printf '%s\n' "$pub"
