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
        // A cwd that goes through an inherited fd (here: a host directory holding a marker) must not
        // land the process in it: an escape would list the marker.
        let hostDirectory = h.dir + "/host-dir"
        try FileManager.default.createDirectory(atPath: hostDirectory, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: hostDirectory + "/host-marker", contents: Data()))
        var escape = h.spec(["sh", "-c", "pwd; ls -a ."])
        escape.process?.cwd = "/proc/self/fd/5"
        let id2 = h.id("cwd")
        let refused = try h.runtime(["run", "--bundle", try h.bundle(id2, escape), id2], shellPrefix: "exec 5<\(hostDirectory);")
        #expect(refused.status != 0)
        #expect(!refused.stdout.contains("host-marker"), "the process ran in the host directory: \(refused.stdout)")
        // Refused by the runtime's check, not by a crash or an unrelated failure.
        #expect(refused.stderr.contains("chdir to cwd (\"/proc/self/fd/5\")") || refused.stderr.contains("is outside the container's root filesystem"),
                "\(refused.stderr)")
        // --preserve-fds passes exactly what was asked for.
        let id3 = h.id("keep")
        let kept = try h.runtime(["run", "--preserve-fds", "1", "--bundle", try h.bundle(id3, h.spec(["ls", "/proc/self/fd"])), id3],
                                 shellPrefix: "exec 3</dev/null 5</;")
        #expect(kept.stdout.split(separator: "\n").sorted() == ["0", "1", "2", "3", "4"])
    }

    /// The CVE-2019-5736 attack: keep a handle on the runtime binary a container process runs
    /// from, wait until the runtime is gone from the container, then write through the handle.
    static func attemptOverwrite(_ h: RuntimeHarness, memfd: Bool, binary: String = RuntimeHarness.binary) throws -> (exe: String, errno: Int32, readOnlyMount: Bool) {
        let id = h.id(memfd ? "memfd" : "robind")
        let bundle = try h.bundle(id, h.spec(["true"]))
        let created = try h.runtime(["create", "--bundle", bundle, id], shellPrefix: memfd ? "BERTH_RUNTIME_MEMFD=1" : "", binary: binary)
        #expect(created.status == 0, "\(created.stderr)")
        let pid = try h.state(id)["pid"] as? Int ?? 0
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
        let handle = open("/proc/\(pid)/exe", 0o10000000 | O_CLOEXEC)  // O_PATH
        #expect(handle >= 0)
        defer { close(handle) }
        #expect(try h.runtime(["start", id]).status == 0)
        #expect(try RuntimeHarness.waitFor { (try h.state(id))["status"] as? String == "stopped" })
        // The attack writes at offset 0; pwrite of the same first byte would change nothing if it worked.
        var st = statvfs()
        let readOnly = fstatvfs(handle, &st) == 0 && st.f_flag & UInt(ST_RDONLY) != 0
        let fd = open("/proc/self/fd/\(handle)", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return (exe, errno, readOnly) }
        defer { close(fd) }
        var byte: UInt8 = 0x7f
        return (exe, pwrite(fd, &byte, 1, 0) == 1 ? 0 : errno, readOnly)
    }

    @Test("CVE-2019-5736: the runtime binary a container process ran from cannot be overwritten")
    func readonlyBinary() throws {
        let h = try RuntimeHarness("robind")
        defer { h.cleanup() }
        // Default: a read-only bind of the binary in the helper's private mount namespace.
        let bound = try Self.attemptOverwrite(h, memfd: false)
        #expect(bound.readOnlyMount)
        // ETXTBSY when another runtime (a parallel test) happens to be running the same binary.
        #expect(bound.errno == EROFS || bound.errno == ETXTBSY, "exe \(bound.exe): errno \(bound.errno)")
        // Fallback: a sealed memfd copy.
        let sealed = try Self.attemptOverwrite(h, memfd: true)
        #expect(sealed.exe.hasPrefix("/memfd:berth-runtime"))
        #expect(sealed.errno == EPERM, "errno \(sealed.errno)")
        // Run from a read-only mount already (as berthd runs it): no copy, the mount protects it.
        let readOnly = try h.readOnlyBinary()
        let forked = try Self.attemptOverwrite(h, memfd: false, binary: readOnly)
        #expect(forked.exe == readOnly && forked.readOnlyMount)
        #expect(forked.errno == EROFS || forked.errno == ETXTBSY, "exe \(forked.exe): errno \(forked.errno)")
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
