#!/bin/sh
# A stand-in for the kernel's WireGuard module, which the lab's machine lacks (DESIGN.md: the
# lab uses wireguard-go). Lab nodes with the Proxmox VE personality have it bind-mounted over
# `ip`, with the real ip at /run/.lab-kernel-ip. It answers `ip link add [dev] NAME type
# wireguard` as the module does, with a WireGuard link NAME, made here by wireguard-go as
# wg-quick's own userspace fallback makes it (wg-quick(8), add_if) and without IPv6 address
# generation, as the module creates its links (drivers/net/wireguard/device.c: wg_setup sets
# IN6_ADDR_GEN_MODE_NONE); an existing link is "File exists", as the kernel says. Every other
# command runs the real ip. ifupdown2 makes a stanza's `link-type wireguard` link with exactly
# this command (addons/link.py, _up, through lib/iproute2.py, link_add).
# It also stands in for the kernel's dummy module, missing here too, which Proxmox VE's
# `link-type dummy` stanza of a node's own address needs (ifupdown2 runs `ip link add NAME type
# dummy` for it, by the same path): it makes an ifb link instead, like a dummy a link with no
# lower device, no ARP and a carrier always on (drivers/net/dummy.c, drivers/net/ifb.c), which
# holds addresses as a dummy does. ifupdown2 does not recognise that link as the dummy it asked
# for and so does not set it up, as it does a dummy: the stand-in sets it up in its place.
set -eu
real=/run/.lab-kernel-ip
if [ "${1:-}" = link ] && [ "${2:-}" = add ]; then
  name="" kind=""
  previous=""
  for word in "$@"; do
    case $previous in
      dev | name) name=$word ;;
      type) kind=$word ;;
    esac
    previous=$word
  done
  # `ip link add NAME type …`: the name is the word after "add" unless a keyword gave it
  [ -n "$name" ] || name=$3
  if [ "$kind" = wireguard ]; then
    if "$real" link show dev "$name" >/dev/null 2>&1; then
      echo "RTNETLINK answers: File exists" >&2
      exit 2
    fi
    WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go "$name" >/dev/null 2>&1 || exit 2
    exec "$real" link set dev "$name" addrgenmode none
  fi
  if [ "$kind" = dummy ]; then
    "$real" link add dev "$name" type ifb || exit 2
    exec "$real" link set dev "$name" up
  fi
fi
exec "$real" "$@"
