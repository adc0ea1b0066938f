import BerthTestSupport
import Foundation
import Testing

/// The default seccomp profile and `--security-opt seccomp=…`, seen from inside containers.
@Suite("seccomp through berthd")
struct SecurityOptionTests {
    @Test func defaultProfileFiltersAndOptionsOverride() throws {
        let daemon = try DaemonHarness("seccomp")
        defer { daemon.shutdown() }
        func run(_ arguments: String...) -> CapturedRun {
            daemon.docker(["run", "--rm", "--network", "none"] + arguments)
        }
        #expect(run("busybox", "grep", "Seccomp:", "/proc/self/status").stdout == "Seccomp:\t2\n")
        // Namespaces need CAP_SYS_ADMIN, as with Docker's profile.
        let unshare = run("busybox", "unshare", "-n", "true")
        #expect(unshare.status == 1)
        #expect(unshare.stderr.contains("Operation not permitted"))
        #expect(run("--cap-add", "SYS_ADMIN", "busybox", "unshare", "-n", "true").status == 0)
        // Everyday work is unaffected.
        #expect(run("busybox", "sh", "-c", "echo ok | cat; mkdir /tmp/d; ls /tmp; ps >/dev/null").stdout == "ok\nd\n")
        #expect(run("--security-opt", "seccomp=unconfined", "busybox", "grep", "Seccomp:", "/proc/self/status").stdout == "Seccomp:\t0\n")
        #expect(run("--privileged", "busybox", "grep", "Seccomp:", "/proc/self/status").stdout == "Seccomp:\t0\n")
        // A profile file: the docker CLI sends its content.
        let profile = daemon.dir + "/deny-mkdir.json"
        try #"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#
            .write(toFile: profile, atomically: true, encoding: .utf8)
        let denied = run("--security-opt", "seccomp=" + profile, "busybox", "mkdir", "/tmp/x")
        #expect(denied.status == 1)
        #expect(denied.stderr.contains("Operation not permitted"))
        let broken = run("--security-opt", "seccomp={not json", "busybox", "true")
        #expect(broken.status == 125)
    }
}
