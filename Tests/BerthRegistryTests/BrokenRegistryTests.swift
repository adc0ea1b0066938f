import BerthImages
import BerthOCI
import BerthRegistry
import BerthTestSupport
import Foundation
import Glibc
import Testing

/// A registry that misbehaves on purpose: Python's http.server on 127.0.0.1 answering every
/// request with `status` and `body`. Killed by its pid in `stop()`.
final class BrokenRegistry: @unchecked Sendable {
    private let server: PythonServer
    var port: Int { server.port }

    init(status: Int, body: String, contentType: String = "application/vnd.oci.image.manifest.v1+json") throws {
        server = try PythonServer { port in
            """
            import http.server
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
            """
        }
    }

    func stop() { server.stop() }
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
