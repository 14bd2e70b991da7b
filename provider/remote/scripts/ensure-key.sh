# shellcheck source=common.sh
. "${0%/*}/common.sh"
# Prints the interface's public key. The private key is made here, under umask 077, only if
# none exists, and never leaves the node. Files of this fabric in the folder they were kept in
# until now (a changed key folder, or the default of a release before 0.3) move here first,
# the key unchanged. An existing key is adopted (recorded as such in its .owner file, so our
# delete leaves it in place) when someone else made it (Proxmox, by hand), taken over when
# another name of this fabric made it (a renamed node), and refused when another fabric owns
# it, unless the node says adopt. With adopt and no key file, the key of a config someone else
# wrote is kept (Proxmox VE's SDN has it in its config only), so the running interface keeps
# its key when we take it over.
need wg wireguard-tools
check_key_dir "$key_dir"
# on a node with Proxmox VE's own fabrics the caller checks our interface against them first:
# their lines are printed and nothing is done until stdin says "checked"
if [ -f "$pve_fabrics_cfg" ] && [ "$(cat)" != checked ]; then
  pve_claims
  exit "$pve_check_exit"
fi
lock_node
# no key is made for an interface whose config someone else wrote: we could not apply it anyway
for file in "$conf" "$foreign_conf"; do
  is_ours "$file" || [ "$adopt" = yes ] || die 5 "$file exists and was not written by pulumi-wireguard-fabric; set adopt: true on the node to take it over with its key, or move it away"
done
mkdir -p "$key_dir"

# Moves one file into the key folder: staged there, flushed, renamed, then the old one removed,
# so a run cut short leaves each file whole in one folder or both (the next run ends the move).
move_into() {
  [ -e "$1" ] || return 0
  if [ -e "$2" ]; then
    cmp -s "$1" "$2" || die 5 "$1 and $2 differ: both folders hold a $iface key; keep one of them by hand"
  else
    staged=$(mktemp "$key_dir/.move.XXXXXX")
    cp -p "$1" "$staged"
    sync "$staged"
    mv -f "$staged" "$2"
  fi
  rm -f "$1"
}
if [ "$from_key_dir" != "$key_dir" ] && { [ -e "$from_key_dir/$iface.key" ] || [ -e "$from_key_dir/$iface.owner" ]; }; then
  check_key_dir "$from_key_dir"
  holder=$(head -n 1 "$from_key_dir/$iface.owner" 2>/dev/null || head -n 1 "$key_dir/$iface.owner" 2>/dev/null || true)
  { [ -n "$holder" ] && [ "$(fabric_of "$holder")" = "$(fabric_of "$owner")" ]; } || [ "$adopt" = yes ] ||
    die 5 "$from_key_dir/$iface.key is not recorded as this fabric's: move it to $key_dir by hand, or set the key folder back to $from_key_dir"
  # the key first: its owner record follows it, so the key is never taken for someone else's
  for ext in key pub owner; do move_into "$from_key_dir/$iface.$ext" "$key_dir/$iface.$ext"; done
  rmdir "$from_key_dir" 2>/dev/null || true
fi
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
if [ ! -e "$key" ] && [ "$adopt" = yes ] && [ -f "$foreign_conf" ] && ! is_ours "$foreign_conf"; then
  staged=$(mktemp "$key_dir/.key.XXXXXX")
  sed -n 's/^[[:space:]]*[Pp][Rr][Ii][Vv][Aa][Tt][Ee][Kk][Ee][Yy][[:space:]]*=[[:space:]]*\([^[:space:]]*\)[[:space:]]*$/\1/p' "$foreign_conf" | head -n 1 >"$staged"
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
