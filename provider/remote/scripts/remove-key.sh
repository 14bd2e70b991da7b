# shellcheck source=common.sh
. "${0%/*}/common.sh"
check_key_dir
lock_node
# Deletes the interface's key files, unless another owner (a renamed node or fabric) took them over.
if [ -e "$key_dir/$iface.owner" ] && [ "$(cat "$key_dir/$iface.owner")" != "$owner" ]; then
  echo "kept $key: it now belongs to $(cat "$key_dir/$iface.owner")" >&2
  exit 0
fi
rm -f "$key" "$key_dir/$iface.pub" "$key_dir/$iface.owner"
rmdir "$key_dir" 2>/dev/null || true
