import Foundation
import Glibc

/// Debian's docker-registry on 127.0.0.1, started by scripts/registry.sh with the busybox image
/// pushed as `library/busybox:latest`; stopped (by its pid) and removed by `stop()`.
public final class LoopbackRegistry: @unchecked Sendable {
    public static var packageRoot: String { TestEnvironment.packageRoot }

    public let dir: String
    public let port: Int
    public var host: String { "127.0.0.1:\(port)" }

    public init(htpasswd: String? = nil) throws {
        dir = "/tmp/berth-registry-\(UInt32.random(in: 0...UInt32.max))"
        port = Self.freePort()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var args = [Self.packageRoot + "/scripts/registry.sh", "start", dir, "\(port)"]
        if let htpasswd { args += ["--htpasswd", htpasswd] }
        let status = Command.run(["/bin/bash"] + args, output: dir + "/start.log")
        guard status == 0 else {
            let log = (try? String(contentsOfFile: dir + "/start.log", encoding: .utf8)) ?? ""
            stop()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "registry did not start: \(log)"])
        }
    }

    public func stop() {
        Command.run(["/bin/bash", Self.packageRoot + "/scripts/registry.sh", "stop", dir])
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A port the kernel says is free right now.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Pushes the image of `bigLayout` as `library/big:latest`; returns its reference.
    public func pushBigImage() throws -> String {
        let layout = dir + "/big-layout"
        try Self.bigLayout(layout)
        let reference = "\(host)/library/big:latest"
        guard Command.run(["/usr/bin/skopeo", "copy", "-q", "--dest-tls-verify=false", "oci:\(layout):big", "docker://\(reference)"],
                          output: "/dev/null") == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "skopeo could not push \(reference)"])
        }
        return reference
    }

    /// An OCI layout with three 40 MB uncompressed layers of random bytes: slow enough on
    /// loopback for a SIGKILL to land in the middle of the pull.
    public static func bigLayout(_ dir: String) throws {
        let script = #"""
        import hashlib, io, json, os, sys, tarfile
        out = sys.argv[1]
        os.makedirs(out + "/blobs/sha256")
        def put(data):
            d = hashlib.sha256(data).hexdigest()
            open(f"{out}/blobs/sha256/{d}", "wb").write(data)
            return "sha256:" + d, len(data)
        layers, diffs = [], []
        for i in range(3):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as t:
                data = os.urandom(40 << 20)
                info = tarfile.TarInfo(f"data{i}.bin"); info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            digest, size = put(buf.getvalue())
            layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": size})
            diffs.append(digest)
        cfg, cfg_size = put(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diffs}}).encode())
        man, man_size = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": cfg_size}, "layers": layers}).encode())
        json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man,
            "size": man_size, "annotations": {"org.opencontainers.image.ref.name": "big"}}]}, open(out + "/index.json", "w"))
        open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
        """#
        let path = dir + "-make.py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        guard Command.run(["/usr/bin/env", "python3", path, dir], output: "/dev/null") == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "could not write the layout \(dir)"])
        }
    }

}
