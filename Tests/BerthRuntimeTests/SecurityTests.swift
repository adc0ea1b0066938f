import BerthOCI
import Foundation
import Glibc
import Testing

@Suite("berth-runtime security regressions")
struct SecurityTests {
    @Test("CVE-2024-21626: no inherited fd reaches the container, and a cwd through one is refused")
    func noFdLeak() throws {
        let h = try RuntimeHarness("fdleak")
        defer { h.cleanup() }
        let id = h.id("fds")
        let bundle = try h.bundle(id, h.spec(["ls", "/proc/self/fd"]))
        // fd 5 is an open host directory handed to the runtime by its caller.
        let listed = try h.runtime(["run", "--bundle", bundle, id], shellPrefix: "exec 5</;")
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.split(separator: "\n").sorted() == ["0", "1", "2", "3"])
        // A cwd that goes through that fd must not land the process in the host's root.
        var escape = h.spec(["ls", "/"])
        escape.process?.cwd = "/proc/self/fd/5"
        let id2 = h.id("cwd")
        let refused = try h.runtime(["run", "--bundle", try h.bundle(id2, escape), id2], shellPrefix: "exec 5</;")
        #expect(refused.status != 0)
        #expect(!refused.stdout.contains("work"))
        // --preserve-fds passes exactly what was asked for.
        let id3 = h.id("keep")
        let kept = try h.runtime(["run", "--preserve-fds", "1", "--bundle", try h.bundle(id3, h.spec(["ls", "/proc/self/fd"])), id3],
                                 shellPrefix: "exec 3</dev/null 5</;")
        #expect(kept.stdout.split(separator: "\n").sorted() == ["0", "1", "2", "3", "4"])
    }

    @Test("CVE-2019-5736: the container's init runs a sealed copy of the runtime, not the binary on disk")
    func sealedBinary() throws {
        let h = try RuntimeHarness("sealed")
        defer { h.cleanup() }
        let id = h.id("sealed")
        #expect(try h.runtime(["create", "--bundle", try h.bundle(id, h.spec(["true"])), id]).status == 0)
        let pid = try h.state(id)["pid"] as? Int ?? 0
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
        #expect(exe.hasPrefix("/memfd:berth-runtime"))
        let fd = open("/proc/\(pid)/exe", O_WRONLY)
        #expect(fd < 0)
        if fd >= 0 { close(fd) }
    }

    @Test("mount targets resolve inside the rootfs: a symlink to a host path cannot redirect a mount")
    func symlinkEscape() throws {
        let h = try RuntimeHarness("symlink")
        defer { h.cleanup() }
        let rootfs = h.dir + "/rootfs"
        let copy = try RuntimeHarness.command(["/bin/cp", "-a", RuntimeHarness.rootfs, rootfs])
        #expect(copy.status == 0)
        let hostTarget = h.dir + "/host-target"
        try FileManager.default.createDirectory(atPath: hostTarget, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/evil", withDestinationPath: hostTarget)
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/evil2", withDestinationPath: "../../../../../../" + hostTarget)
        var spec = h.spec(["sh", "-c", "echo pwned > /evil/marker; echo pwned > /evil2/marker2; ls /evil"])
        spec.root = .init(path: rootfs, readonly: false)
        spec.mounts?.append(.init(destination: "/evil", type: "tmpfs", source: "tmpfs"))
        spec.mounts?.append(.init(destination: "/evil2", type: "tmpfs", source: "tmpfs"))
        let result = try h.run("symlink", spec)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("marker"))
        // The tmpfs went where the link points inside the rootfs; the host directory stayed untouched.
        #expect(try FileManager.default.contentsOfDirectory(atPath: hostTarget).isEmpty)
    }
}
