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
}
