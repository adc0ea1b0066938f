#!/usr/bin/env python3
"""Build Berth's offline test images from Debian's busybox-static, reproducibly.

Outputs (under OUT, default .testdata/):
  busybox/rootfs/          the root filesystem (applet symlinks, /etc/passwd, /etc/group)
  busybox-oci/             an OCI image layout (gzip layer)
  busybox.tar              a `docker save` archive in Docker 25+ form (manifest.json,
                           repositories, and the OCI layout in the same archive)

Same busybox binary in, same bytes out: entries are sorted, owners are 0, times are clamped
to SOURCE_DATE_EPOCH and gzip headers carry no name or time.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import sys
import tarfile

EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "1700000000"))
CREATED = "2023-11-14T22:13:20Z"  # EPOCH as RFC 3339
BUSYBOX = "/bin/busybox"


def build_rootfs(root):
    if os.path.exists(root):
        shutil.rmtree(root)
    for d in ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "tmp", "root", "home", "var/tmp", "run"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    os.chmod(os.path.join(root, "var/tmp"), 0o1777)
    os.chmod(os.path.join(root, "root"), 0o700)
    shutil.copyfile(BUSYBOX, os.path.join(root, "bin/busybox"))
    os.chmod(os.path.join(root, "bin/busybox"), 0o755)
    import subprocess
    applets = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True, text=True).stdout.split()
    for applet in applets:
        path = os.path.join(root, applet)
        if os.path.lexists(path) or applet == "bin/busybox":
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(os.path.relpath("/bin/busybox", "/" + os.path.dirname(applet)), path)
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(os.path.join(root, "etc/group"), "w") as f:
        f.write("root:x:0:\ntty:x:5:\nnogroup:x:65534:\n")
    with open(os.path.join(root, "etc/hostname"), "w") as f:
        f.write("busybox\n")


def layer_tar(root):
    """An uncompressed, reproducible tar of `root`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                entries.append(os.path.join(dirpath, name))
        for path in sorted(entries, key=lambda p: os.path.relpath(p, root)):
            info = tar.gettarinfo(path, arcname=os.path.relpath(path, root))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = min(int(info.mtime), EPOCH)
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return buf.getvalue()


def gzip_bytes(data):
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return out.getvalue()


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def image_documents(layer, layer_media_type, diff_id):
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": CREATED, "created_by": "berth scripts/build-test-images.py (busybox-static)"}],
    }
    config_bytes = canonical(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config_bytes), "size": len(config_bytes)},
        "layers": [{"mediaType": layer_media_type, "digest": sha(layer), "size": len(layer)}],
    }
    manifest_bytes = canonical(manifest)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha(manifest_bytes),
            "size": len(manifest_bytes),
            "annotations": {
                "io.containerd.image.name": "docker.io/library/busybox:latest",
                "org.opencontainers.image.ref.name": "latest",
            },
            "platform": {"architecture": "amd64", "os": "linux"},
        }],
    }
    return config_bytes, manifest_bytes, index


def write_layout(directory, blobs, index):
    if os.path.exists(directory):
        shutil.rmtree(directory)
    os.makedirs(os.path.join(directory, "blobs/sha256"))
    for data in blobs:
        with open(os.path.join(directory, "blobs/sha256", sha(data)[7:]), "wb") as f:
            f.write(data)
    with open(os.path.join(directory, "oci-layout"), "wb") as f:
        f.write(canonical({"imageLayoutVersion": "1.0.0"}))
    with open(os.path.join(directory, "index.json"), "wb") as f:
        f.write(canonical(index))


def write_docker_archive(path, layer, config_bytes, manifest_bytes, index):
    files = {
        "oci-layout": canonical({"imageLayoutVersion": "1.0.0"}),
        "index.json": canonical(index),
        "manifest.json": canonical([{
            "Config": "blobs/sha256/" + sha(config_bytes)[7:],
            "RepoTags": ["busybox:latest"],
            "Layers": ["blobs/sha256/" + sha(layer)[7:]],
        }]),
        "repositories": canonical({"busybox": {"latest": sha(layer)[7:]}}),
    }
    for data in (layer, config_bytes, manifest_bytes):
        files["blobs/sha256/" + sha(data)[7:]] = data
    tmp = path + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for d in ["blobs", "blobs/sha256"]:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, EPOCH
            tar.addfile(info)
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o644, EPOCH
            tar.addfile(info, io.BytesIO(files[name]))
    os.replace(tmp, path)


def package_rootfs(rootfs, name, out):
    """OUT/<name>-oci: an OCI layout (gzip layer) of an existing root filesystem."""
    tar_bytes = layer_tar(rootfs)
    gz = gzip_bytes(tar_bytes)
    config_bytes, manifest_bytes, index = image_documents(gz, "application/vnd.oci.image.layer.v1.tar+gzip", sha(tar_bytes))
    index["manifests"][0]["annotations"]["io.containerd.image.name"] = f"docker.io/library/{name}:latest"
    write_layout(os.path.join(out, f"{name}-oci"), [gz, config_bytes, manifest_bytes], index)
    print(f"OCI layout:      {os.path.join(out, name + '-oci')} (layer {sha(gz)}, {len(gz)} bytes)")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--from-rootfs":
        # build-test-images.py --from-rootfs ROOTFS NAME OUT
        package_rootfs(sys.argv[2], sys.argv[3], os.path.abspath(sys.argv[4]))
        return
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".testdata")
    if not os.path.exists(BUSYBOX) or not (os.stat(BUSYBOX).st_mode & stat.S_IXUSR):
        sys.exit("busybox-static is not installed: apt-get install busybox-static")
    rootfs = os.path.join(out, "busybox/rootfs")
    build_rootfs(rootfs)
    tar_bytes = layer_tar(rootfs)
    diff_id = sha(tar_bytes)
    gz = gzip_bytes(tar_bytes)
    config_bytes, manifest_bytes, index = image_documents(gz, "application/vnd.oci.image.layer.v1.tar+gzip", diff_id)
    write_layout(os.path.join(out, "busybox-oci"), [gz, config_bytes, manifest_bytes], index)
    config_u, manifest_u, index_u = image_documents(tar_bytes, "application/vnd.oci.image.layer.v1.tar", diff_id)
    write_docker_archive(os.path.join(out, "busybox.tar"), tar_bytes, config_u, manifest_u, index_u)
    print(f"busybox rootfs:  {rootfs}")
    print(f"OCI layout:      {os.path.join(out, 'busybox-oci')} (layer {sha(gz)})")
    print(f"docker archive:  {os.path.join(out, 'busybox.tar')} (image id {sha(config_u)})")


if __name__ == "__main__":
    main()
