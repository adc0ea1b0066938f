import BerthImages
import BerthOCI
import BerthRegistry
import Foundation
import Glibc
import Testing

/// A registry that wants bearer tokens, on 127.0.0.1: every /v2/ request without
/// `Authorization: Bearer good-token` gets 401 with a `WWW-Authenticate: Bearer` challenge naming
/// its own /token endpoint, which hands out the token only for the right scope (and, when
/// configured, only with basic credentials). It serves the busybox OCI layout.
final class TokenRegistry: @unchecked Sendable {
    let port = LoopbackRegistry.freePort()
    let log: String
    private var pid: pid_t = 0
    private let script: String

    init(requireUser: String? = nil) throws {
        let id = UInt32.random(in: 0...UInt32.max)
        script = "/tmp/berth-token-\(id).py"
        log = "/tmp/berth-token-\(id).log"
        let layout = LoopbackRegistry.packageRoot + "/.testdata/busybox-oci"
        let basic = requireUser.map { "Basic " + Data($0.utf8).base64EncodedString() } ?? ""
        try """
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
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let words: [String] = ["/usr/bin/env", "python3", script]
        let args: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        guard posix_spawn(&pid, "/usr/bin/env", nil, nil, args, environ) == 0 else { throw CocoaError(.fileReadUnknown) }
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
        unlink(log)
    }
}

@Suite("Registry bearer tokens")
struct TokenRegistryTests {
    @Test("a bearer challenge is answered from the token endpoint with the right scope, and the token reused")
    func bearer() async throws {
        _ = try ImageStoreFixture.busybox()
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
        _ = try ImageStoreFixture.busybox()
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

/// Makes sure the test images exist (the token registry serves them from disk).
enum ImageStoreFixture {
    static func busybox() throws -> String {
        let layout = LoopbackRegistry.packageRoot + "/.testdata/busybox-oci/index.json"
        if !FileManager.default.fileExists(atPath: layout) {
            _ = LoopbackRegistry.run(["/bin/bash", LoopbackRegistry.packageRoot + "/scripts/build-test-images.sh"], output: "/dev/null")
        }
        return layout
    }
}
