# shellcheck source=common.sh
. "${0%/*}/common.sh"
check_key_dir "$key_dir"
lock_node
# Deletes the interface's key files, unless another owner (a renamed node or fabric) took them
# over; a key we adopted (someone else made it) stays where it was found.
if [ -e "$key_dir/$iface.owner" ] && [ "$(head -n 1 "$key_dir/$iface.owner")" != "$owner" ]; then
  echo "kept $key: it now belongs to $(head -n 1 "$key_dir/$iface.owner")" >&2
  exit 0
fi
# pair keys are ours whoever made the interface key: they go with the interface
rm -f "$key_dir/$iface"@*@*.psk
if [ "$(sed -n 2p "$key_dir/$iface.owner" 2>/dev/null || true)" = adopted ]; then
  rm -f "$key_dir/$iface.owner"
  echo "left $key in place: it was adopted, not made by us" >&2
  exit 0
fi
rm -f "$key" "$key_dir/$iface.pub" "$key_dir/$iface.owner"
rmdir "$key_dir" 2>/dev/null || true
