import BerthImages
import BerthOCI
import BerthRegistry
import BerthTestSupport
import Foundation
import Glibc
import Testing

/// A registry that wants bearer tokens, on 127.0.0.1: every /v2/ request without
/// `Authorization: Bearer good-token` gets 401 with a `WWW-Authenticate: Bearer` challenge naming
/// its own /token endpoint, which hands out the token only for the right scope (and, when
/// configured, only with basic credentials). It serves the busybox OCI layout.
final class TokenRegistry: @unchecked Sendable {
    private let server: PythonServer
    let log: String
    var port: Int { server.port }

    init(requireUser: String? = nil) throws {
        let log = "/tmp/berth-token-\(UInt32.random(in: 0...UInt32.max)).log"
        self.log = log
        let layout = LoopbackRegistry.packageRoot + "/.testdata/busybox-oci"
        let basic = requireUser.map { "Basic " + Data($0.utf8).base64EncodedString() } ?? ""
        server = try PythonServer { port in
            """
        import http.server, json, os, sys, urllib.parse
        LAYOUT, PORT, BASIC, LOG = \(String(reflecting: layout)), \(port), \(String(reflecting: basic)), \(String(reflecting: log))
        index = json.load(open(LAYOUT + "/index.json"))
        manifest_digest = index["manifests"][0]["digest"]
        class H(http.server.BaseHTTPRequestHandler):
            def reply(self, status, body=b"", headers={}):
                self.send_response(status)
                for k, v in headers.items(): self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD": self.wfile.write(body)
            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                open(LOG, "a").write(self.path + "\\n")
                if url.path == "/token":
                    q = urllib.parse.parse_qs(url.query)
                    if q.get("scope") != ["repository:library/busybox:pull"] or q.get("service") != ["berth-fake"]:
                        return self.reply(400, b"bad scope or service")
                    if BASIC and self.headers.get("Authorization") != BASIC:
                        return self.reply(401, b"{}")
                    return self.reply(200, json.dumps({"token": "good-token"}).encode())
                if self.headers.get("Authorization") != "Bearer good-token":
                    return self.reply(401, b"{}", {"WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{PORT}/token",service="berth-fake",scope="repository:library/busybox:pull"'})
                parts = url.path.split("/")
                if url.path == "/v2/library/busybox/manifests/latest":
                    return self.reply(200, open(LAYOUT + "/blobs/sha256/" + manifest_digest[7:], "rb").read(),
                                      {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
                if len(parts) == 6 and parts[4] == "blobs" and os.path.exists(LAYOUT + "/blobs/sha256/" + parts[5][7:]):
                    return self.reply(200, open(LAYOUT + "/blobs/sha256/" + parts[5][7:], "rb").read())
                self.reply(404, b"{}")
            do_HEAD = do_GET
            def log_message(self, *args): pass
        http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
        """
        }
    }

    func stop() {
        server.stop()
        unlink(log)
    }
}

@Suite("Registry bearer tokens")
struct TokenRegistryTests {
    @Test("a bearer challenge is answered from the token endpoint with the right scope, and the token reused")
    func bearer() async throws {
        _ = TestEnvironment.testData
        let registry = try TokenRegistry()
        defer { registry.stop() }
        let (store, dir) = try PullTests.store()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let client = RegistryClient(configuration: RegistryConfiguration())
        let image = try await ImagePuller(client: client, store: store).pull(try ImageReference(parsing: "127.0.0.1:\(registry.port)/library/busybox:latest"))
        #expect(image.id == (try PullTests.expectedImageID()))
        let requests = try String(contentsOfFile: registry.log, encoding: .utf8).split(separator: "\n")
        // One token for the whole pull: manifest, config and layer share it.
        #expect(requests.filter { $0.hasPrefix("/token") }.count == 1)
        try await client.shutdown()
    }

    @Test("a token endpoint that wants credentials gets them from the docker config, and refuses without")
    func bearerWithCredentials() async throws {
        _ = TestEnvironment.testData
        let registry = try TokenRegistry(requireUser: "berth:t0ken")
        defer { registry.stop() }
        let (store, dir) = try PullTests.store()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reference = try ImageReference(parsing: "127.0.0.1:\(registry.port)/library/busybox:latest")
        let anonymous = RegistryClient(configuration: RegistryConfiguration())
        await #expect { try await ImagePuller(client: anonymous, store: store).pull(reference) } throws: { error in
            guard let error = error as? RegistryError, case .unauthorized = error else { return false }
            return true
        }
        try await anonymous.shutdown()
        var configuration = RegistryConfiguration()
        configuration.credentials = ["127.0.0.1:\(registry.port)": RegistryCredentials(username: "berth", password: "t0ken")]
        let client = RegistryClient(configuration: configuration)
        _ = try await ImagePuller(client: client, store: store).pull(reference)
        #expect(try store.list().count == 1)
        try await client.shutdown()
    }
}
