import BerthOCI
import Foundation
import Glibc
import Testing

/// Configs that other engines and conformance suites write, which berthd never does.
@Suite("berth-runtime: OCI conformance gaps")
struct ConformanceTests {
    /// A profile that refuses the calls a runtime makes for itself after setting up a process
    /// (the descriptor sweep, signal resets, cwd, umask): the filter must come after all of them.
    static func strictProfile() -> RuntimeSpec.Seccomp {
        .init(defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
              syscalls: [.init(names: ["close_range", "fcntl", "rt_sigaction", "chdir", "getcwd", "umask"],
                               action: "SCMP_ACT_ERRNO", errnoRet: UInt32(EPERM))])
    }

    @Test("a seccomp profile that refuses close_range, fcntl, rt_sigaction, chdir, getcwd and umask still starts the container",
          arguments: [true, false])
    func seccompLoadedLast(noNewPrivileges: Bool) throws {
        let h = try RuntimeHarness("seccomplast")
        defer { h.cleanup() }
        var spec = h.spec(["echo", "started"])
        spec.process?.noNewPrivileges = noNewPrivileges
        spec.linux?.seccomp = Self.strictProfile()
        let result = try h.run("seccomplast", spec)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "started\n")
    }

    @Test("a FIFO in linux.devices is created, and needs no device cgroup rule")
    func fifoDevice() throws {
        let h = try RuntimeHarness("fifo")
        defer { h.cleanup() }
        let spec = h.spec(["sh", "-c", "test -p /dev/fifo0 && stat -c '%a %u' /dev/fifo0"])
        let id = h.id("fifo")
        let bundle = try h.bundle(id, spec) { config in
            var linux = config["linux"] as? [String: Any] ?? [:]
            linux["devices"] = [["type": "p", "path": "/dev/fifo0", "fileMode": 0o640, "uid": 0, "gid": 0]]
            config["linux"] = linux
        }
        let result = try h.runtime(["run", "--bundle", bundle, id])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "640 0\n")
    }
}

/// containerd's runc shim and other callers read runc's exit codes and messages; each command
/// in each state answers as runc 1.1 does (checked side by side on this host).
@Suite("berth-runtime: runc's answers in every state")
struct RuncAnswersTests {
    enum State: String, CaseIterable { case created, running, paused, stopped, unknown }

    /// command → state → (exit status, message); an empty message means success.
    static let expected: [(command: [String], answers: [State: (Int32, String)])] = [
        (["start"], [.created: (0, ""), .running: (1, "cannot start an already running container"),
                     .paused: (1, "cannot start a container in the paused state"),
                     .stopped: (1, "cannot start a container that has stopped"), .unknown: (1, "container does not exist")]),
        (["kill", "ID", "TERM"], [.created: (0, ""), .running: (0, ""), .paused: (0, ""),
                                   .stopped: (1, "container not running"), .unknown: (1, "container does not exist")]),
        (["kill", "--all", "ID", "KILL"], [.created: (0, ""), .running: (0, ""), .paused: (0, ""), .stopped: (0, ""),
                                            .unknown: (1, "container does not exist")]),
        (["pause"], [.created: (0, ""), .running: (0, ""), .paused: (1, "container not running"),
                     .stopped: (1, "container not running"), .unknown: (1, "container does not exist")]),
        (["resume"], [.created: (1, "container not paused"), .running: (1, "container not paused"), .paused: (0, ""),
                      .stopped: (1, "container not paused"), .unknown: (1, "container does not exist")]),
        (["exec", "ID", "true"], [.created: (0, ""), .running: (0, ""),
                                  .paused: (255, "exec failed: cannot exec in a paused container (use --ignore-paused to override)"),
                                  .stopped: (255, "exec failed: cannot exec in a stopped container"),
                                  .unknown: (255, "exec failed: container does not exist")]),
        (["update", "--pids-limit", "10", "ID"], [.created: (0, ""), .running: (0, ""), .paused: (0, ""),
                                                   .stopped: (1, "container not running"), .unknown: (1, "container does not exist")]),
        (["delete"], [.created: (0, ""), .running: (1, "cannot delete container ID that is not stopped: running"),
                      .paused: (1, "cannot delete container ID that is not stopped: paused"), .stopped: (0, ""),
                      .unknown: (1, "container does not exist")]),
    ]

    @Test("exit codes and messages match runc's", arguments: State.allCases)
    func answers(state: State) throws {
        let h = try RuntimeHarness("answers-\(state.rawValue)")
        defer { h.cleanup() }
        for (command, answers) in Self.expected {
            let id = h.id(state.rawValue)
            let bundle = try h.bundle(id, h.spec(["sleep", "60"]))
            switch state {
            case .unknown: break
            default:
                try #require(try h.runtime(["create", "--bundle", bundle, id]).status == 0)
                if state != .created { try #require(try h.runtime(["start", id]).status == 0) }
                if state == .paused { try #require(try h.runtime(["pause", id]).status == 0) }
                if state == .stopped {
                    try #require(try h.runtime(["kill", id, "KILL"]).status == 0)
                    try #require(try RuntimeHarness.waitFor { (try h.state(id))["status"] as? String == "stopped" })
                }
            }
            let argv = command.contains("ID") ? command.map { $0 == "ID" ? id : $0 } : command + [id]
            let result = try h.runtime(argv)
            let (status, message) = answers[state]!
            // Printed as runc prints it without --log: one logrus line, `level=error msg="…"`.
            let printed = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(result.status == status, "\(argv) in \(state): \(printed)")
            if message.isEmpty {
                #expect(printed.isEmpty, "\(argv) in \(state)")
            } else {
                #expect(printed.hasSuffix("level=error msg=\"\(message.replacingOccurrences(of: "ID", with: id))\""), "\(argv) in \(state): \(printed)")
            }
            _ = try h.runtime(["delete", "--force", id])
        }
    }

    @Test("create of an id in use answers runc's message")
    func createTwice() throws {
        let h = try RuntimeHarness("twice")
        defer { h.cleanup() }
        let id = h.id("twice")
        let bundle = try h.bundle(id, h.spec(["sleep", "60"]))
        try #require(try h.runtime(["create", "--bundle", bundle, id]).status == 0)
        let again = try h.runtime(["create", "--bundle", bundle, id])
        #expect(again.status == 1)
        #expect(again.stderr.contains("container with given ID already exists"))
    }
}
