import BerthOCI
import Foundation
import Testing

@Suite("berth-runtime hooks")
struct HookTests {
    @Test("hooks run in spec order with the state on stdin; a failing prestart hook aborts create")
    func order() throws {
        let h = try RuntimeHarness("hooks")
        defer { h.cleanup() }
        let out = h.dir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        func hook(_ name: String, file: String) -> RuntimeSpec.Hook {
            .init(path: "/bin/sh", args: ["sh", "-c", "read -r state; echo \"\(name) $state\" >> \(file)"], timeout: 10)
        }
        var spec = h.spec(["sh", "-c", "echo main >> /out/log"])
        spec.mounts?.append(.init(destination: "/out", type: "bind", source: out, options: ["rbind", "rw"]))
        spec.hooks = .init(prestart: [hook("prestart", file: out + "/log")],
                           createRuntime: [hook("createRuntime", file: out + "/log")],
                           createContainer: [hook("createContainer", file: out + "/log")],
                           startContainer: [hook("startContainer", file: "/out/log")],
                           poststart: [hook("poststart", file: out + "/log")],
                           poststop: [hook("poststop", file: out + "/log")])
        let id = h.id("hooks")
        let result = try h.runtime(["run", "--bundle", try h.bundle(id, spec), id])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try String(contentsOfFile: out + "/log", encoding: .utf8).split(separator: "\n")
        let names = lines.map { $0.split(separator: " ").first.map(String.init) ?? "" }
        // main and poststart race (both follow start); everything else is ordered.
        #expect(Array(names.prefix(4)) == ["prestart", "createRuntime", "createContainer", "startContainer"])
        #expect(Set(names.dropFirst(4).dropLast()) == ["main", "poststart"])
        #expect(names.last == "poststop")
        #expect(lines.first?.contains("\"id\":\"\(id)\"") == true)

        var failing = h.spec(["true"])
        failing.hooks = .init(prestart: [.init(path: "/bin/false")])
        let id2 = h.id("failhook")
        let failed = try h.runtime(["create", "--bundle", try h.bundle(id2, failing), id2])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("prestart hook"))
        #expect(try h.runtime(["state", id2]).status != 0)
    }

    @Test("a hook that outlives its timeout is killed and fails the create")
    func timeout() throws {
        let h = try RuntimeHarness("hooktimeout")
        defer { h.cleanup() }
        var spec = h.spec(["true"])
        spec.hooks = .init(createRuntime: [.init(path: "/bin/sleep", args: ["sleep", "30"], timeout: 1)])
        let id = h.id("slow")
        let started = Date()
        let result = try h.runtime(["create", "--bundle", try h.bundle(id, spec), id])
        #expect(result.status == 1)
        #expect(result.stderr.contains("timed out"))
        #expect(Date().timeIntervalSince(started) < 20)
    }

    @Test("a failing poststart or poststop hook is a warning: the hooks after it run, with the state on stdin")
    func failingPostHooksWarn() throws {
        let h = try RuntimeHarness("posthooks")
        defer { h.cleanup() }
        let log = h.dir + "/log"
        func recorder(_ name: String) -> RuntimeSpec.Hook {
            .init(path: "/bin/sh", args: ["sh", "-c", "read -r state; echo \"\(name) $state\" >> \(log)"], timeout: 10)
        }
        var spec = h.spec(["true"])
        spec.hooks = .init(poststart: [.init(path: "/bin/false"), recorder("poststart")],
                           poststop: [.init(path: "/bin/sh", args: ["sh", "-c", "exit 3"]), recorder("poststop")])
        let id = h.id("posthooks")
        let result = try h.runtime(["run", "--bundle", try h.bundle(id, spec), id])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("poststart hook #0 (/bin/false) failed"))
        #expect(result.stderr.contains("poststop hook #0 (/bin/sh) failed: exit status 3"))
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first { $0.hasPrefix("poststart ") }?.contains("\"status\":\"running\"") == true)
        #expect(lines.first { $0.hasPrefix("poststop ") }?.contains("\"status\":\"stopped\"") == true)
        #expect(try h.runtime(["state", id]).status != 0)
    }
}
