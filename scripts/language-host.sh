#!/bin/sh
# pulumi-language-nodejs where the official one cannot be built (scripts/pulumi-engine.sh
# installs this file under that name, in the engine cache every clone on the machine shares).
# It runs our language host (tools/language-host) of the clone the project takes
# pulumi-wireguard-fabric from, so two clones each run their own build; a project outside any
# clone runs the build named in language-host.default beside this file (the clone that set the
# engine up last).
root=.
for arg in "$@"; do
  case "$arg" in
    -root=*) root=${arg#-root=} ;;
  esac
done
host=$(cd "$root" 2>/dev/null && node -e '
  const path = require("path");
  try {
    const pkg = require.resolve("pulumi-wireguard-fabric/package.json", { paths: [process.cwd()] });
    process.stdout.write(path.join(path.dirname(pkg), "dist/tools/language-host/main.js"));
  } catch {}
' 2>/dev/null)
if [ -z "$host" ] || [ ! -f "$host" ]; then
  host=$(cat "$(dirname "$0")/language-host.default")
fi
exec node "$host" "$@"
