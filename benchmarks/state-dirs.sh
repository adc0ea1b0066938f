# Sourced by the benchmarks: where engines keep their state, as on a normal install.
#   make_state_dirs NAME SIZE   sets top (a temp dir), work (a fresh journaled ext4 loop image of
#                               SIZE, e.g. 4G, mounted at $top/fs) and run (a tmpfs at $top/run, as
#                               /run is). This VM's root ext4 has no journal, which makes every
#                               file creation and removal slow (see docs/benchmarks.md).
make_state_dirs() {
  top=$(mktemp -d "/tmp/berth-$1.XXXXXX")
  truncate -s "$2" "$top/fs.img"
  mkfs.ext4 -q -F "$top/fs.img"
  mkdir "$top/fs"
  mount -o loop "$top/fs.img" "$top/fs"
  work=$top/fs
  run=$top/run
  mkdir "$run"
  mount -t tmpfs -o mode=755 tmpfs "$run"
}
