#!/bin/sh
# What Proxmox VE runs on a node to apply its network (GUI "Apply Configuration", and on every
# node for an SDN apply), file by file and in the same order, for a lab node with the Proxmox VE
# personality. It stands in only for the Proxmox VE API call: every tool it runs is the real one.
# It follows:
# - pve-manager, PVE/API2/Network.pm, reload_network_config (commit 14a22df3, lines 919-935):
#   /etc/network/interfaces.new renamed over /etc/network/interfaces; then
#   PVE::Network::SDN::generate_etc_network_config(), generate_dhcp_config(),
#   PVE::Network::SDN::WireGuard::generate_wireguard_config() (without $apply: no wg syncconf
#   here, the stanzas' post-up does it); then `ifreload -a`.
# - pve-network, src/PVE/Network/SDN.pm, write_raw_etc_network_config (commit ecf98c5d):
#   /etc/network/interfaces.d/sdn opened for writing and written anew, whatever it held.
# - pve-network, src/PVE/Network/SDN/WireGuard.pm, write_wireguard_config: under
#   /var/lock/proxmox_wg.lock (10 s), /etc/wireguard (0755) and /etc/wireguard/proxmox (0700)
#   made when missing, every file matching .*\.conf in /etc/wireguard/proxmox unlinked, then one
#   config (0600) written for each WireGuard interface of Proxmox VE's fabrics on this node.
# The lab has no DHCP zones, so generate_dhcp_config has nothing to write.
#
# stdin: records "NAME LENGTH\n" + LENGTH bytes, rendered by the lab from the node's
# /etc/pve/sdn/fabrics.cfg: `sdn` (the stanzas) and `conf.IFACE` (each config without its
# PrivateKey line, which is taken here from /etc/pve/priv/wg-keys.cfg, as Proxmox VE does: the
# key never leaves the node). $1: the node's name (Proxmox VE's nodename).
set -eu
node=$1
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
while read -r name length; do
  case $name in sdn | conf.[a-zA-Z0-9]*) ;; *) echo "unexpected record '$name'" >&2; exit 2 ;; esac
  head -c "$length" >"$stage/$name"
done

[ ! -e /etc/network/interfaces.new ] || mv /etc/network/interfaces.new /etc/network/interfaces

cat "$stage/sdn" >/etc/network/interfaces.d/sdn

# The config of IFACE as Proxmox VE writes it: its PrivateKey line first in [Interface], taken
# from wg-keys.cfg's section `node: NODE`, lines `private_keys name=IFACE,key=KEY`
# (proxmox-ve-config, NodePrivateKeysSection). awk reads the key from the file: it is never an
# argument.
with_private_key() {
  awk -v node="$node" -v iface="$1" '
    FNR == NR {
      if ($0 ~ /^[^ \t]/) inside = ($0 == "node: " node)
      if (inside && $1 == "private_keys") {
        n = split($2, fields, ",")
        name = ""; found = ""
        for (i = 1; i <= n; i++) {
          eq = index(fields[i], "=")
          if (substr(fields[i], 1, eq - 1) == "name") name = substr(fields[i], eq + 1)
          if (substr(fields[i], 1, eq - 1) == "key") found = substr(fields[i], eq + 1)
        }
        if (name == iface) key = found
      }
      next
    }
    { print }
    $0 == "[Interface]" && !done {
      if (key == "") { print "no private key for " iface " of " node " in /etc/pve/priv/wg-keys.cfg" > "/dev/stderr"; exit 1 }
      print "PrivateKey = " key; done = 1
    }' /etc/pve/priv/wg-keys.cfg "$2"
}
(
  flock -w 10 9 || { echo "could not lock /var/lock/proxmox_wg.lock" >&2; exit 1; }
  [ -e /etc/wireguard ] || mkdir -m 0755 /etc/wireguard
  [ -e /etc/wireguard/proxmox ] || mkdir -m 0700 /etc/wireguard/proxmox
  find /etc/wireguard/proxmox -maxdepth 1 -name '*.conf' -exec rm -f {} +
  for record in "$stage"/conf.*; do
    [ -e "$record" ] || continue
    iface=${record##*/conf.}
    (umask 077 && with_private_key "$iface" "$record" >"/etc/wireguard/proxmox/$iface.conf")
  done
) 9>/var/lock/proxmox_wg.lock

ifreload -a
