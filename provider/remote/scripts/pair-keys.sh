# shellcheck source=common.sh
. "${0%/*}/common.sh"
# The pair keys of one interface, in its key folder (one file a peering, 0600, named by
# pairKeyFile in TypeScript). stdin: records "NAME LENGTH\n" + LENGTH bytes: `op` and `files`
# (lines "FILE PAIR"), and for put `key.N` (the key of the Nth file). What TypeScript decided
# is done here, per op:
#   make         a new key for each file from the node's CSPRNG (wg genpsk); prints
#                "key FILE KEY MTIME" for each: the key goes to the other end, in memory, on its
#                stdin (MTIME, the file's in Unix seconds, is when the key was made)
#   put          writes each file's key from its record
#   fingerprint  prints "fingerprint FILE HEX MTIME" for each file there: the first 16 hex
#                digits of sha256("PAIR\nKEY") (pairKeyFingerprint in TypeScript), nothing of the
#                key, and the file's MTIME
#   drop         deletes the files
# Every file is written whole (to a temporary file, flushed, then renamed).
check_key_dir "$key_dir"
need wg wireguard-tools
# keys on stdin are staged in the key folder, where they are kept anyway
mkdir -p "$key_dir"
stage=$(mktemp -d "$key_dir/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
while read -r name length; do
  case $name in op | files | key.[0-9] | key.[0-9][0-9] | key.[0-9][0-9][0-9] | key.[0-9][0-9][0-9][0-9]) ;; *) die 2 "unexpected stdin record '$name'" ;; esac
  case $length in '' | *[!0-9]*) die 2 "record $name has no length" ;; esac
  head -c "$length" >"$stage/$name"
done
{ [ -f "$stage/op" ] && [ -f "$stage/files" ]; } || die 2 "no op or files record"
op=$(cat "$stage/op")
case $op in make | put | drop) lock_node ;; fingerprint) ;; *) die 2 "unknown op '$op'" ;; esac
while read -r file pair; do
  is_pair_key_file "$file" || die 2 "refusing pair key file '$file'"
  case $pair in *[!a-zA-Z0-9_=+.@/~-]* | '') die 2 "refusing pair '$pair'" ;; esac
done <"$stage/files"

# writes stdin to FILE in the key folder, whole
write_key() {
  cat >"$key_dir/.$1.tmp"
  sync "$key_dir/.$1.tmp"
  mv -f "$key_dir/.$1.tmp" "$key_dir/$1"
}

n=0
while read -r file pair; do
  case $op in
    make)
      wg genpsk | write_key "$file"
      printf 'key\t%s\t%s\t%s\n' "$file" "$(cat "$key_dir/$file")" "$(stat -c %Y "$key_dir/$file")"
      ;;
    put)
      [ -s "$stage/key.$n" ] || die 2 "no key record for $file"
      is_key "$(cat "$stage/key.$n")" || die 2 "the key for $file is not a WireGuard key"
      write_key "$file" <"$stage/key.$n"
      ;;
    fingerprint)
      [ ! -f "$key_dir/$file" ] || printf 'fingerprint\t%s\t%s\t%s\n' "$file" "$(printf '%s\n%s' "$pair" "$(tr -d '\n' <"$key_dir/$file")" | sha256sum | cut -c 1-16)" "$(stat -c %Y "$key_dir/$file")"
      ;;
    drop) rm -f "$key_dir/$file" ;;
  esac
  n=$((n + 1))
done <"$stage/files"
