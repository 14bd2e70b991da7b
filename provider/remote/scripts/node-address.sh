# shellcheck source=common.sh
. "${0%/*}/common.sh"
# The link that holds a node's own addresses ($iface: dummy_<fabric>, as Proxmox VE names it),
# kept by its ifupdown2 stanza at $stanza_path (rendered in TypeScript, Proxmox VE's shape).
# stdin: records "NAME LENGTH\n" + LENGTH bytes. Without a record, reports what is there (the
# stanza's digest, the link and its addresses, as inspect.sh names them). With `stanza`, writes
# it (staged, renamed into place) and brings the link to it with `ifup` (ifupdown2 adds the
# addresses and removes those the stanza no longer has), except in `none` mode; an empty
# stanza takes the link down and removes it and the file. Prints "changed=0|1".
record() { printf '%s' "$1"; shift; for field in "$@"; do printf '\t%s' "$field"; done; printf '\n'; }

stage=""
while read -r name length; do
  case $name in stanza) ;; *) die 2 "unexpected stdin record '$name'" ;; esac
  case $length in '' | *[!0-9]*) die 2 "record $name has no length" ;; esac
  [ -n "$stage" ] || { stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT; }
  head -c "$length" >"$stage/$name"
done
if [ -z "$stage" ]; then
  [ ! -f "$pve_fabrics_cfg" ] || pve_claims
  [ ! -f "$stanza_path" ] || record stanza-digest "$(sha256sum <"$stanza_path" | cut -d ' ' -f 1)"
  if link_exists; then
    record link "$(ip -j link show dev "$iface")"
    record addr "$(ip -j address show dev "$iface")"
  fi
  exit 0
fi

lock_node
is_ours "$stanza_path" || [ "$adopt" = yes ] || die 5 "$stanza_path exists and was not written by pulumi-wireguard-fabric; set adopt: true on the node to take it over"
refuse_other_fabric "$stanza_path"
changed=0
if [ ! -s "$stage/stanza" ]; then
  # removal: only what this owner wrote
  if ! is_mine "$stanza_path"; then
    echo "left $iface alone: no stanza of $owner for it (gone, or taken over by another owner)" >&2
    echo "changed=0"
    exit 0
  fi
  if link_exists; then ! command -v ifdown >/dev/null 2>&1 || ifdown "$iface" >&2 9>&- || true; fi
  remove_stanza_link "$stanza_path"
  echo "changed=1"
  exit 0
fi
# a link of that name that no stanza of ours made is someone else's
if link_exists && [ ! -e "$stanza_path" ] && [ "$adopt" != yes ]; then
  die 5 "$iface is up but was not set up by pulumi-wireguard-fabric (no $stanza_path); take it down to let us manage it"
fi
[ "$mode" = none ] || need ifup ifupdown2
{ printf '%s\n' "$marker"; cat "$stage/stanza"; } >"$stage/full"
if ! cmp -s "$stage/full" "$stanza_path"; then
  mkdir -p "${stanza_path%/*}"
  chmod 0644 "$stage/full"
  sync "$stage/full"
  mv -f "$stage/full" "$stanza_path"
  changed=1
fi
if [ "$mode" != none ]; then
  printf '[#] ifup %s\n' "$iface" >&2
  ifup "$iface" >&2 9>&- || die 4 "step failed: ifup $iface"
  link_exists || die 6 "ifup did not bring $iface up; see the stanza in $stanza_path"
  # "ok" means the addresses are there: ifup has been seen to leave the link up without them
  # (about 1 run in 8 of the lab's Proxmox VE nodes); once more, then a named failure
  missing() {
    sed -n 's/^[[:space:]]*address[[:space:]]\{1,\}//p' "$stanza_path" | while read -r address; do
      ip -o address show dev "$iface" | grep -qF " $address " || { echo "$address"; break; }
    done | grep .
  }
  if lost=$(missing); then
    printf '[#] ifup %s again: %s was not on it\n' "$iface" "$lost" >&2
    ifup "$iface" >&2 9>&- || die 4 "step failed: ifup $iface"
    ! lost=$(missing) || die 6 "ifup left $iface without $lost; see the stanza in $stanza_path"
  fi
  changed=1
fi
echo "changed=$changed"
