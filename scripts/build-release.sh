#!/usr/bin/env bash
# Release builds of Berth's binaries into .build/release: the Swift standard library linked
# statically (no Swift runtime needed on the host). berth-shim is Embedded Swift, static by itself,
# and must be built without --static-swift-stdlib.
#   scripts/build-release.sh [PRODUCT…]   (default: berthd berth-shim berth-runtime berth-init berth-dns berth)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
products=("$@")
[ ${#products[@]} -gt 0 ] || products=(berthd berth-shim berth-runtime berth-init berth-dns berth)
for product in "${products[@]}"; do
  if [ "$product" = berth-shim ]; then
    swift build -c release --product "$product"
  else
    swift build -c release --static-swift-stdlib --product "$product"
  fi
done
