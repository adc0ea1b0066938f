# Sourced by the benchmarks: what every one of them does first.
#   need_packages PKG…          installs the Debian packages that are missing
#   berth_binaries PRODUCT…     sets bin: $BERTH_BIN_DIR, or fresh release builds of PRODUCTs
need_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null; }
  done
}

berth_binaries() {
  bin=${BERTH_BIN_DIR:-}
  if [ -z "$bin" ]; then
    scripts/build-release.sh "$@" >/dev/null
    bin=$PWD/.build/release
  fi
}
