#!/usr/bin/env bash
# The consumer test: what a user gets from npm, checked before we would publish it.
#
# Packs every publishable package, installs the tarballs with npm into a temporary project
# outside the workspace (with the lowest xstate the packages accept), type-checks the README's
# examples there with strict settings (not exactOptionalPropertyTypes: xstate's own declarations
# do not compile under it) and `skipLibCheck: false` under both NodeNext and bundler
# resolution, then compiles and runs them with plain `node` and checks what they print.
# Fails when a package would ship broken. Run from the workspace root after `pnpm install`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pnpm() { npx -y pnpm@10.34.9 "$@"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/troupe-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT

pnpm run build >/dev/null
packages=(packages/runtime packages/actors packages/cluster packages/persistence)
for pkg in "${packages[@]}"; do
  (cd "$pkg" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
done

# The lowest xstate the packages accept, read from the runtime's peer range (`^5.x.y`).
xstate_min=$(node -p 'require("./packages/runtime/package.json").peerDependencies.xstate.replace(/^\^/, "")')
ts_version=$(node -p 'require("typescript/package.json").version')

mkdir -p "$work/app/src"
cd "$work/app"
cat >package.json <<JSON
{ "name": "troupe-consumer", "private": true, "type": "module" }
JSON
npm install --no-audit --no-fund --silent \
  "$work"/tarballs/*.tgz "xstate@$xstate_min" "typescript@$ts_version" "@types/node@20"

cp "$root"/apps/demo/src/examples/{quickstart,channels,actors,all-cores,bank,cluster}.ts src/
cat >tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022", "lib": ["ES2023"], "types": ["node"],
    "module": "NodeNext", "moduleResolution": "NodeNext",
    "strict": true, "noUncheckedIndexedAccess": true,
    "skipLibCheck": false, "outDir": "dist", "rootDir": "src"
  },
  "include": ["src"]
}
JSON
npx tsc -p tsconfig.json
npx tsc -p tsconfig.json --noEmit --module ESNext --moduleResolution Bundler

check() { # file, expected substring
  local out
  out=$(node "dist/$1.js")
  if [[ "$out" != *"$2"* ]]; then
    echo "consumer test: dist/$1.js printed:"; echo "$out"; echo "expected it to contain: $2"; exit 1
  fi
}
check quickstart 'average: 22°C'
check channels 'price 2001'
check actors 'breaker: hello ada'
BANK_DB="$work/bank.db" check bank 'read model: total 110, richest alice, built from 3 events'
# cluster.ts runs against the local NATS server when there is one (CI always has it); all-cores.ts
# forks processes: type-checked above, run by the workspace's tests.
if node -e 'require("net").connect(4222, "127.0.0.1").on("connect", () => process.exit(0)).on("error", () => process.exit(1))'; then
  CLUSTER="consumer-$$" check cluster 'tea placed by a'
fi
echo "consumer test: $(ls "$work/tarballs" | tr '\n' ' ')installed with xstate@$xstate_min, type-checked (NodeNext, Bundler) and ran"
