# shellcheck source=common.sh
. "${0%/*}/common.sh"
check_key_dir "$key_dir"
lock_node
# Takes the interface down, disables its boot unit and removes the files we wrote for this
# owner; an interface another owner took over (or someone else set up) is left alone.
if ! is_mine "$conf" && ! is_mine "$stanza_path"; then
  echo "left $iface alone: no config of $owner for it (gone, or taken over by another owner)" >&2
  exit 0
fi
if link_exists; then
  if [ "$mode" = ifupdown2 ] && command -v ifdown >/dev/null 2>&1; then ifdown "$iface" >&2 9>&- || true; fi
  if [ "$mode" = wg-quick ] && command -v wg-quick >/dev/null 2>&1; then wg-quick down "$conf" >&2 9>&- || true; fi
fi
if is_mine "$stanza_path"; then remove_stanza_link "$stanza_path"; elif link_exists; then ip link delete dev "$iface"; fi
if has_systemd && [ "$(systemctl is-enabled "wg-quick@$iface" 2>/dev/null || true)" = enabled ]; then
  systemctl disable "wg-quick@$iface" >&2
fi
for file in "$conf" "$stanza_path"; do
  if is_mine "$file"; then rm -f "$file"; fi
done
# the follower of endpoint names goes with the interface (its PreDown stopped it when it was up)
if [ -f "$refresher" ]; then
  sh "$refresher" stop "$iface" 9>&- || true
  rm -f "$refresher"
fi
