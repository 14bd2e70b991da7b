# shellcheck source=common.sh
. "${0%/*}/common.sh"
# Prints the interface's public key. The private key is made here, under umask 077, only if
# none exists (an existing one is adopted), and never leaves the node.
need wg wireguard-tools
check_key_dir
lock_node
mkdir -p "$key_dir"
if [ -e "$key" ]; then
  # adopt only a key that is root's own and readable by no one else (as Proxmox writes them)
  info=$(stat -c '%u %a %F' "$key")
  case $info in "0 600 regular file" | "0 400 regular file") ;; *) die 2 "refusing to adopt $key: it is not root's own 0600 file ($info)" ;; esac
fi
if [ ! -s "$key" ]; then
  staged=$(mktemp "$key_dir/.key.XXXXXX")
  wg genkey >"$staged"
  sync "$staged"
  mv -f "$staged" "$key"
fi
pub=$(wg pubkey <"$key")
if [ "$(cat "$key_dir/$iface.pub" 2>/dev/null || true)" != "$pub" ]; then
  staged=$(mktemp "$key_dir/.pub.XXXXXX")
  printf '%s\n' "$pub" >"$staged"
  chmod 0644 "$staged"
  mv -f "$staged" "$key_dir/$iface.pub"
fi
[ "$(cat "$key_dir/$iface.owner" 2>/dev/null || true)" = "$owner" ] || printf '%s\n' "$owner" >"$key_dir/$iface.owner"
printf '%s\n' "$pub"
