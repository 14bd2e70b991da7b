# shellcheck source=common.sh
. "${0%/*}/common.sh"
# The pair keys of one interface, in its key folder (one file a peering, 0600, named by
# pairKeyFile in TypeScript, holding the key alone). stdin: records "NAME LENGTH\n" + LENGTH
# bytes: `op` and `files` (lines "FILE PAIR"), and for put `keys` (a key a line, one for each
# file in order). What TypeScript decided is done here, per op:
#   make    a new key for each file from the node's CSPRNG (wg genpsk); prints
#           "key FILE KEY MTIME" for each once all are written: the key goes to the other end, in
#           memory, on its stdin (MTIME, the file's in Unix seconds, is when the key was made)
#   put     writes each file's key from its line, once every line is a key
#   digest  prints "digest FILE DIGEST MTIME" for each file there (key_digests): nothing of the
#           key; TypeScript makes the pair's fingerprint of it (pairKeyFingerprint)
#   drop    deletes the files
# Every file is written whole (staged, flushed, then renamed). A few processes a run, whatever
# the number of files: a full mesh of 100 nodes gives an interface 99.
check_key_dir "$key_dir"
need wg wireguard-tools
# keys on stdin are staged in the key folder, where they are kept anyway
mkdir -p "$key_dir"
stage=$(mktemp -d "$key_dir/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
while read -r name length; do
  case $name in op | files | keys) ;; *) die 2 "unexpected stdin record '$name'" ;; esac
  case $length in '' | *[!0-9]*) die 2 "record $name has no length" ;; esac
  head -c "$length" >"$stage/$name"
done
{ [ -f "$stage/op" ] && [ -f "$stage/files" ]; } || die 2 "no op or files record"
op=$(cat "$stage/op")
case $op in make | put | drop) lock_node ;; digest) ;; *) die 2 "unknown op '$op'" ;; esac
paths=""
while read -r file pair; do
  is_pair_key_file "$file" || die 2 "refusing pair key file '$file'"
  case $pair in *[!a-zA-Z0-9_=+.@/~-]* | '') die 2 "refusing pair '$pair'" ;; esac
  paths="$paths $key_dir/$file"
done <"$stage/files"

# the staged files of make and put, flushed, then renamed into the key folder
mkdir "$stage/out"
install_staged() {
  sync -- "$stage"/out/*
  mv -f -- "$stage"/out/* "$key_dir/"
}

case $op in
  make)
    while read -r file _; do
      key=$(wg genpsk || :)
      is_key "$key" || die 1 "wg genpsk did not print a key for $file"
      printf '%s' "$key" >"$stage/out/$file"
    done <"$stage/files"
    install_staged
    # shellcheck disable=SC2086 # one path a word
    stat -c '%n %Y' -- $paths | while read -r path mtime; do
      IFS= read -r key <"$path" || :
      printf 'key\t%s\t%s\t%s\n' "${path##*/}" "$key" "$mtime"
    done
    ;;
  put)
    [ -f "$stage/keys" ] || die 2 "no keys record"
    exec 3<"$stage/keys"
    while read -r file _; do
      IFS= read -r key <&3 || die 2 "no key for $file"
      is_key "$key" || die 2 "the key for $file is not a WireGuard key"
      printf '%s' "$key" >"$stage/out/$file"
    done <"$stage/files"
    exec 3<&-
    install_staged
    ;;
  digest)
    # shellcheck disable=SC2086 # one path a word
    key_digests $paths | while read -r file digest mtime; do printf 'digest\t%s\t%s\t%s\n' "$file" "$digest" "$mtime"; done
    ;;
  drop)
    # shellcheck disable=SC2086 # one path a word
    rm -f -- $paths
    ;;
esac
