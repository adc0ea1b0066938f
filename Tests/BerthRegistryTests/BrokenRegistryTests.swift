import BerthImages
import BerthOCI
import BerthRegistry
import Foundation
import Glibc
import Testing

/// A registry that misbehaves on purpose: Python's http.server on 127.0.0.1 answering every
/// request with `status` and `body`. Killed by its pid in `stop()`.
final class BrokenRegistry: @unchecked Sendable {
    let port = LoopbackRegistry.freePort()
    private var pid: pid_t = 0
    private let script: String

    init(status: Int, body: String, contentType: String = "application/vnd.oci.image.manifest.v1+json") throws {
        script = "/tmp/berth-broken-\(UInt32.random(in: 0...UInt32.max)).py"
        try """
        import http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = \(String(reflecting: body)).encode()
                self.send_response(\(status))
                self.send_header("Content-Type", \(String(reflecting: contentType)))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            do_HEAD = do_GET
            def log_message(self, *args): pass
        http.server.HTTPServer(("127.0.0.1", \(port)), H).serve_forever()
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let words: [String] = ["/usr/bin/env", "python3", script]
        let args: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        guard posix_spawn(&pid, "/usr/bin/env", nil, nil, args, environ) == 0 else { throw CocoaError(.fileReadUnknown) }
        // Wait until it accepts connections (bounded).
        for _ in 0..<200 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
            close(fd)
            if ok { return }
            usleep(20_000)
        }
    }

    func stop() {
        if pid > 0 { kill(pid, SIGKILL); var status: Int32 = 0; waitpid(pid, &status, 0) }
        unlink(script)
    }
}

@Suite("Registry failures")
struct BrokenRegistryTests {
    static func pull(from registry: BrokenRegistry) async throws -> (Error?, Int) {
        let (store, dir) = try PullTests.store()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var configuration = RegistryConfiguration()
        configuration.retries = 2
        let client = RegistryClient(configuration: configuration)
        defer { Task { try? await client.shutdown() } }
        do {
            _ = try await ImagePuller(client: client, store: store).pull(try ImageReference(parsing: "127.0.0.1:\(registry.port)/team/app:1.0"))
            return (nil, try store.list().count)
        } catch {
            return (error, try store.list().count)
        }
    }

    @Test("500, 401, 404 and garbage manifests each fail with the image and the cause named, storing nothing", arguments: [
        (500, "oops", "HTTP 500"),
        (401, "{}", "authentication required"),
        (404, "{}", "not found"),
        (200, "<html>not a manifest</html>", "not valid JSON"),
        (200, #"{"schemaVersion": 1, "name": "team/app"}"#, "schema 1"),
    ])
    func failures(status: Int, body: String, expected: String) async throws {
        let registry = try BrokenRegistry(status: status, body: body)
        defer { registry.stop() }
        let (error, images) = try await Self.pull(from: registry)
        let message = error.map { "\($0)" } ?? "no error"
        #expect(message.contains(expected), "\(message)")
        #expect(status == 200 || message.contains("team/app"), "\(message)")
        #expect(images == 0)
    }
}
