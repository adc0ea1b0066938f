import Foundation
import Testing

@Suite("containerd compatibility")
struct ContainerdTests {
    @Test("containerd's runc shim runs a container with berth-runtime as its runc binary",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/containerd")))
    func ctrRun() throws {
        _ = RuntimeHarness.rootfs
        let result = try RuntimeHarness.command(
            ["/bin/bash", RuntimeHarness.packageRoot + "/scripts/containerd-demo.sh", RuntimeHarness.binary, "--",
             "sh", "-c", "echo pid=$$; exit 7"], timeout: 120)
        #expect(result.stdout.contains("pid=1"), "\(result.stderr)")
        #expect(result.status == 7)
    }

    @Test("with a terminal (ctr run -t), the pty master reaches containerd's shim over --console-socket",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/containerd")
                   && FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func ctrRunTerminal() throws {
        _ = RuntimeHarness.rootfs
        let result = try RuntimeHarness.command(
            ["/usr/bin/env", "BERTH_DEMO_TTY=1", "/bin/bash", RuntimeHarness.packageRoot + "/scripts/containerd-demo.sh",
             RuntimeHarness.binary, "--", "sh", "-c", "tty; exit 6"], timeout: 120)
        #expect(result.stdout.contains("/dev/pts/0"), "\(result.stdout) \(result.stderr)")
        #expect(result.status == 6)
    }

    /// What containerd's CRI plugin needs above all: an already-exited task answers kill as
    /// with runc ("process already finished"), or every pod stop and removal times out.
    @Test("the task lifecycle containerd drives (run, exec, pause, resume, kill of running and exited tasks, delete) reads as with runc",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/containerd")
                   && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc")))
    func lifecycleAsWithRunc() throws {
        _ = RuntimeHarness.rootfs
        let script = RuntimeHarness.packageRoot + "/scripts/containerd-lifecycle.sh"
        let runc = try RuntimeHarness.command(["/bin/bash", script, "/usr/sbin/runc"], timeout: 300)
        let berth = try RuntimeHarness.command(["/bin/bash", script, RuntimeHarness.binary], timeout: 300)
        #expect(runc.status == 0, "\(runc.stderr)")
        #expect(berth.status == 0, "\(berth.stderr)")
        #expect(runc.stdout.contains("kill of the exited task: status=1 ctr: process already finished: not found"), "\(runc.stdout)")
        let runcLines = runc.stdout.split(separator: "\n")
        let berthLines = berth.stdout.split(separator: "\n")
        #expect(runcLines.count == berthLines.count && runcLines.count > 15, "\(berth.stdout)")
        for (expected, seen) in zip(runcLines, berthLines) { #expect(seen == expected) }
    }
}
