#!/bin/sh
# What Proxmox VE does when a WireGuard interface is added to one of its fabrics, for a lab node
# with the Proxmox VE personality: a private key for (node, interface) is made unless
# /etc/pve/priv/wg-keys.cfg has one, kept there (proxmox-ve-config,
# WireGuardPrivateKeys::upsert; the file as NodePrivateKeysSection writes it: a section
# `node: NODE`, one `private_keys name=IFACE,key=KEY` line per interface), and only its public
# key is printed. $1: the node's name, $2: the interface.
set -eu
node=$1 iface=$2
file=/etc/pve/priv/wg-keys.cfg
umask 077
mkdir -p /etc/pve/priv
touch "$file"
existing=$(awk -v node="$node" -v iface="$iface" '
  /^[^ \t]/ { inside = ($0 == "node: " node) }
  inside && $1 == "private_keys" && index($2, "name=" iface ",") == 1 { print substr($2, length("name=" iface ",key=") + 1) }' "$file")
if [ -z "$existing" ]; then
  key=$(wg genkey)
  stage=$(mktemp "$file.XXXXXX")
  # the new line goes into the node's section (made when missing); the key is read by awk from stdin
  printf '%s\n' "$key" | awk -v node="$node" -v iface="$iface" '
    BEGIN { getline key < "/dev/stdin" }
    { print }
    $0 == "node: " node { print "\tprivate_keys name=" iface ",key=" key; added = 1 }
    END { if (!added) { if (NR > 0) print ""; print "node: " node; print "\tprivate_keys name=" iface ",key=" key } }' "$file" >"$stage"
  mv -f "$stage" "$file"
  existing=$key
fi
printf '%s\n' "$existing" | wg pubkey
