#!/usr/bin/env bash
# Packs the npm packages: `npm/pack.sh BINARY OUTDIR [PLATFORM]`.
#
# Writes to OUTDIR the platform package holding BINARY (`ivs-vcr-<platform>-<version>.tgz`, the
# package `@ivs-vcr/<platform>`) and the main package (`ivs-vcr-<version>.tgz`), and prints their
# paths. PLATFORM is `<os>-<cpu>` as Node spells them (linux-x64, darwin-arm64, win32-x64, …; one of
# npm/platforms/), this machine's by default. A release builds the optimized binary on each
# platform (`cargo build --locked --profile dist`: target/dist/ivs-vcr), runs this there, and
# publishes every platform package before the main one (which is the same on every machine). The
# binary is copied into a scratch folder, never into the repository.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: npm/pack.sh BINARY OUTDIR [PLATFORM]" >&2
  exit 2
fi
binary="$1"
out="$2"
here="$(cd "$(dirname "$0")" && pwd)"
host="$(node -p 'process.platform + "-" + process.arch')"
platform="${3:-$host}"

test -f "$binary" || { echo "error: \`$binary\` is not a file" >&2; exit 2; }
platform_dir="$here/platforms/$platform"
test -f "$platform_dir/package.json" || {
  echo "error: no platform package \`$platform\`; known: $(ls "$here/platforms" | tr '\n' ' ')" >&2; exit 2; }

version="$(node -p 'require(process.argv[1]).version' "$here/ivs-vcr/package.json")"
platform_version="$(node -p 'require(process.argv[1]).version' "$platform_dir/package.json")"
wanted="$(node -p 'require(process.argv[1]).optionalDependencies[process.argv[2]] || ""' \
  "$here/ivs-vcr/package.json" "@ivs-vcr/$platform")"
if [ "$platform_version" != "$version" ] || [ "$wanted" != "$version" ]; then
  echo "error: ivs-vcr is $version but @ivs-vcr/$platform is $platform_version and ivs-vcr depends on \`$wanted\`" >&2
  exit 2
fi

mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

exe="ivs-vcr"
case "$platform" in win32-*) exe="ivs-vcr.exe" ;; esac
cp "$platform_dir/package.json" "$stage/package.json"
mkdir "$stage/bin"
cp "$binary" "$stage/bin/$exe"
chmod 755 "$stage/bin/$exe"
cat > "$stage/README.md" <<README
# @ivs-vcr/$platform

The \`ivs-vcr\` executable for $platform. Install [\`ivs-vcr\`](https://www.npmjs.com/package/ivs-vcr),
which depends on this package and picks the one for its platform.
README

if [ "$platform" = "$host" ]; then
  # The binary must be the one this package's version promises.
  said="$("$stage/bin/$exe" --version)"
  if [ "$said" != "ivs-vcr $version" ]; then
    echo "error: \`$binary --version\` says \`$said\`, the package is $version" >&2
    exit 2
  fi
  # Debug info is most of an unstripped binary's size and no use to an npm user.
  if command -v strip >/dev/null 2>&1; then
    strip "$stage/bin/$exe"
  fi
fi

platform_tgz="$(cd "$stage" && npm pack --pack-destination "$out" --loglevel=error | tail -n 1)"
main_tgz="$(cd "$here/ivs-vcr" && npm pack --pack-destination "$out" --loglevel=error | tail -n 1)"
echo "$out/$platform_tgz"
echo "$out/$main_tgz"
