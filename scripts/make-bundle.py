#!/usr/bin/env python3
"""make-bundle.py BUNDLE ROOTFS [ARGS...]: an OCI bundle whose config.json is berth-runtime's
default spec (`berth-runtime spec`) with ROOTFS as a read-only root and ARGS as the process."""
import json
import os
import subprocess
import sys

bundle, rootfs, args = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3:] or ["sh"]
here = os.path.dirname(os.path.abspath(__file__))
runtime = os.environ.get("BERTH_RUNTIME") or next(
    (p for p in (os.path.join(here, "..", ".build", c, "berth-runtime") for c in ("release", "debug")) if os.path.exists(p)),
    "berth-runtime")
os.makedirs(bundle, exist_ok=True)
config_path = os.path.join(bundle, "config.json")
if os.path.exists(config_path):
    os.remove(config_path)
subprocess.run([runtime, "spec", "--bundle", bundle], check=True)
with open(config_path) as f:
    config = json.load(f)
config["root"] = {"path": rootfs, "readonly": True}
config["process"]["terminal"] = sys.stdin.isatty() and os.environ.get("BERTH_TERMINAL") == "1"
config["process"]["args"] = args
config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]})
with open(config_path, "w") as f:
    json.dump(config, f, indent=2)
