import BerthOCI
import BerthSystem
import Foundation
import Glibc
import Testing

/// A listening Unix socket that receives a pty master over SCM_RIGHTS, as containerd's shim does.
struct ConsoleSocket {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0, listen(fd, 1) == 0 else { throw SystemError("console socket \(path)") }
    }

    /// Accepts one connection (waiting at most `seconds`) and returns the descriptor it carries.
    func receiveMaster(seconds: Int32 = 30) throws -> Int32 {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, seconds * 1000) == 1 else { throw HarnessError.timeout("console socket") }
        let conn = accept(fd, nil, nil)
        defer { close(conn) }
        return try FileDescriptors.receive(over: conn)
    }

    /// Reads from `master` until `text` shows up or `seconds` pass; returns everything read.
    static func read(_ master: Int32, until text: String, seconds: Double = 10) -> String {
        var output = ""
        let deadline = Date().addingTimeInterval(seconds)
        while !output.contains(text) && Date() < deadline {
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) == 1 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = Glibc.read(master, &buffer, buffer.count)
            if n <= 0 { break }
            output += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        return output
    }
}

@Suite("berth-runtime terminal")
struct TerminalTests {
    @Test("a terminal container gets a working pty whose master arrives over --console-socket")
    func consoleSocket() throws {
        let h = try RuntimeHarness("tty")
        defer { h.cleanup() }
        var spec = h.spec(["sh", "-c", "tty; stty size; read line; echo got:$line; sleep 30"])
        spec.process?.terminal = true
        spec.process?.consoleSize = .init(height: 31, width: 101)
        let id = h.id("tty")
        let console = try ConsoleSocket(path: h.dir + "/console.sock")
        defer { close(console.fd) }
        let bundle = try h.bundle(id, spec)
        let runner = Thread {
            _ = try? h.runtime(["run", "-d", "--console-socket", console.path, "--bundle", bundle, id])
        }
        runner.start()
        let master = try console.receiveMaster()
        defer { close(master) }
        let first = ConsoleSocket.read(master, until: "101")
        #expect(first.contains("/dev/pts/0"))
        #expect(first.contains("31 101"))
        try FileDescriptors.writeAll(master, Array("hello\n".utf8))
        let second = ConsoleSocket.read(master, until: "got:hello")
        #expect(second.contains("got:hello"))
        // The shell's controlling terminal is the pty: its session leader is PID 1.
        let sid = try h.runtime(["exec", id, "sh", "-c", "cut -d' ' -f6 /proc/1/stat"])
        #expect(sid.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
    }

    @Test("exec -t without a console socket relays the terminal through berth-runtime")
    func execTerminalRelay() throws {
        let h = try RuntimeHarness("ttyexec")
        defer { h.cleanup() }
        let id = h.id("ttyexec")
        #expect(try h.runtime(["run", "-d", "--bundle", try h.bundle(id, h.spec(["sleep", "60"])), id]).status == 0)
        let result = try h.runtime(["exec", "-t", id, "sh", "-c", "tty; exit 5"])
        #expect(result.status == 5)
        #expect(result.stdout.contains("/dev/pts/"))
    }
}
