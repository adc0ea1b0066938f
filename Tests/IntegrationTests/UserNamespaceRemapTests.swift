import BerthTestSupport
import Foundation
import Testing

/// daemon `userns-remap: default`, end to end: dockremap and its subordinate ranges are made
/// as dockerd makes them, containers' root is the first subordinate uid, image layers and
/// volumes belong to it on the host, and what would give a container the host's privileges is
/// refused. The host's account files are put back afterwards.
@Suite("userns-remap", .serialized)
struct UserNamespaceRemapTests {
    /// The account files the test changes, as they were.
    private struct AccountFiles {
        let saved: [String: Data?]
        let hadUser: Bool

        init() {
            var saved: [String: Data?] = [:]
            for path in ["/etc/subuid", "/etc/subgid"] { saved[path] = FileManager.default.contents(atPath: path) }
            self.saved = saved
            hadUser = Command.capture(["id", "dockremap"]).status == 0
        }

        func restore() {
            if !hadUser { _ = Command.capture(["/usr/sbin/userdel", "dockremap"]) }
            for (path, data) in saved {
                if let data { FileManager.default.createFile(atPath: path, contents: data) } else { try? FileManager.default.removeItem(atPath: path) }
            }
        }
    }

    @Test("default makes dockremap with ranges; root is the subordinate uid in the container's process, its layers and its volumes")
    func remappedContainers() throws {
        let accounts = AccountFiles()
        defer { accounts.restore() }
        let daemon = try DaemonHarness("remap", daemonJSON: { _ in #"{"userns-remap": "default", "dns": ["127.0.0.2"]}"# })
        defer { daemon.shutdown() }
        let subuid = (try? String(contentsOfFile: "/etc/subuid", encoding: .utf8)) ?? ""
        let line = try #require(subuid.split(separator: "\n").first { $0.hasPrefix("dockremap:") }, "\(subuid)")
        let start = try #require(UInt32(line.split(separator: ":")[1]))
        #expect(line.hasSuffix(":65536"))
        #expect(((try? String(contentsOfFile: "/etc/subgid", encoding: .utf8)) ?? "").contains("dockremap:"))

        let info = daemon.docker("info", "-f", "{{json .SecurityOptions}} {{.DockerRootDir}}").stdout
        #expect(info.contains("name=userns") && info.hasSuffix("/data/\(start).\(start)\n"), "\(info)")

        #expect(daemon.docker("run", "-d", "--name", "remapped", "-v", "remapped-data:/data", "busybox", "sh", "-c",
                              "echo written > /data/file; touch /rootfile; exec sleep 600").status == 0)
        let pid = daemon.docker("inspect", "-f", "{{.State.Pid}}", "remapped").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        #expect(status.contains("Uid:\t\(start)\t\(start)\t\(start)\t\(start)"), "\(status)")
        let inside = daemon.docker("exec", "remapped", "sh", "-c", "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox")
        #expect(inside.stdout.split(whereSeparator: \.isWhitespace) == ["0", "0", "\(start)", "65536", "0"], "\(inside.stdout) \(inside.stderr)")
        #expect(Command.eventually { daemon.docker("exec", "remapped", "cat", "/data/file").stdout == "written\n" })
        let mountpoint = daemon.docker("volume", "inspect", "-f", "{{.Mountpoint}}", "remapped-data").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var file = stat()
        #expect(stat(mountpoint + "/file", &file) == 0)
        #expect(file.st_uid == start && file.st_gid >= 100_000, "owner \(file.st_uid):\(file.st_gid)")
        // The image's files are the remapped root's on the host too.
        let layerFiles = Command.capture(["find", daemon.dir + "/data/\(start).\(start)/snapshots/layers", "-name", "busybox", "-user", "\(start)"])
        #expect(!layerFiles.stdout.isEmpty)

        // docker cp and export carry the container's owners, not the host's shifted ones.
        let copied = daemon.dir + "/copied.txt"
        try "in\n".write(toFile: copied, atomically: true, encoding: .utf8)
        #expect(daemon.docker("cp", copied, "remapped:/tmp/copied.txt").status == 0)
        #expect(daemon.docker("exec", "remapped", "stat", "-c", "%u", "/tmp/copied.txt").stdout == "0\n")
        let out = Command.capture(["sh", "-c", "DOCKER_HOST=\(daemon.host) docker cp remapped:/bin/busybox - | tar -tvf - --numeric-owner"])
        #expect(out.stdout.contains(" 0/0 "), "\(out.stdout) \(out.stderr)")
        let exported = Command.capture(["sh", "-c", "DOCKER_HOST=\(daemon.host) docker export remapped | tar -tvf - --numeric-owner ./bin/busybox"])
        #expect(exported.stdout.contains(" 0/0 "), "\(exported.stdout) \(exported.stderr)")
        // A commit writes the container's owners, not the host's.
        #expect(daemon.docker("commit", "remapped", "remapped-image").status == 0)
        let listing = daemon.docker("run", "--rm", "remapped-image", "stat", "-c", "%u", "/rootfile")
        #expect(listing.stdout == "0\n", "\(listing.stderr)")

        let privileged = daemon.docker("run", "--rm", "--privileged", "busybox", "true")
        #expect(privileged.stderr.contains("privileged mode is incompatible with user namespaces"), "\(privileged.stderr)")
        let hostNetwork = daemon.docker("run", "--rm", "--network", "host", "busybox", "true")
        #expect(hostNetwork.stderr.contains("cannot share the host's network namespace when user namespaces are enabled"))
        let hostUserns = daemon.docker("run", "--rm", "--userns", "host", "busybox", "cat", "/proc/self/uid_map")
        #expect(hostUserns.stdout.split(whereSeparator: \.isWhitespace) == ["0", "0", "4294967295"], "\(hostUserns.stderr)")
        #expect(daemon.docker("rm", "-f", "remapped").status == 0)
        #expect(daemon.docker("volume", "rm", "remapped-data").status == 0)
    }
}
