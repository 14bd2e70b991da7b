# Put in front of every node script by provider/remote/contract.ts, which defines the
# arguments, the stdin records and the output records in one place. Arguments arrive as
# positional parameters, already validated there and checked again here; secrets arrive only
# on stdin; nothing here decides what to change on the node (the plan says that).
# shellcheck disable=SC2034 # the variables are for the scripts this is put in front of
set -eu
umask 077
iface=$1 key_dir=$2 mode=$3 owner=$4 conf=$5 stanza_path=$6 marker=$7
managed_prefix='@MANAGED_PREFIX@'
key="$key_dir/$iface.key"
tab=$(printf '\t')

die() { code=$1; shift; printf '%s\n' "$*" >&2; exit "$code"; }
need() { command -v "$1" >/dev/null 2>&1 || die 127 "$2 is not installed (no $1 command)"; }

# Names and paths become arguments of ip, wg and ifup: none may look like an option.
case $iface in '' | -* | *[!a-zA-Z0-9_=+.-]*) die 2 "refusing interface name '$iface'" ;; esac
case $key_dir in /*) ;; *) die 2 "refusing key folder '$key_dir': not an absolute path" ;; esac
case $key_dir in *[!a-zA-Z0-9_./-]* | */../* | */..) die 2 "refusing key folder '$key_dir'" ;; esac
case $mode in wg-quick | ifupdown2 | none) ;; *) die 2 "refusing apply mode '$mode'" ;; esac

# Files we wrote start with our marker; others are never overwritten or removed.
is_ours() { [ ! -e "$1" ] || case "$(head -n 1 "$1")" in "$managed_prefix"*) true ;; *) false ;; esac; }
is_mine() { [ -e "$1" ] && [ "$(head -n 1 "$1")" = "$marker" ]; }
link_exists() { ip link show dev "$iface" >/dev/null 2>&1; }
has_systemd() { command -v systemctl >/dev/null 2>&1 && [ -e /lib/systemd/system/wg-quick@.service ]; }
