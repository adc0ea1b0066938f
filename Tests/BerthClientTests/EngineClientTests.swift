import BerthAPITypes
import BerthClient
import BerthTestSupport
import Foundation
import Testing

/// The Engine API client against a fake daemon (a small Python server on 127.0.0.1): requests
/// as a daemon sees them, answers and error statuses as the CLI needs them.
@Suite("Engine API client against a fake daemon")
struct EngineClientTests {
    static func fakeDaemon() throws -> PythonServer {
        try PythonServer { port in
            """
            import http.server, json
            class Handler(http.server.BaseHTTPRequestHandler):
                protocol_version = 'HTTP/1.1'
                def answer(self, status, body, chunked=False):
                    data = json.dumps(body).encode()
                    self.send_response(status)
                    self.send_header('Content-Type', 'application/json')
                    if chunked:
                        self.send_header('Transfer-Encoding', 'chunked')
                        self.end_headers()
                        for i in range(0, len(data), 5):
                            part = data[i:i+5]
                            self.wfile.write(b'%x\\r\\n' % len(part) + part + b'\\r\\n')
                        self.wfile.write(b'0\\r\\n\\r\\n')
                    else:
                        self.send_header('Content-Length', str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                def do_GET(self):
                    if self.path == '/v1.50/containers/json?all=1':
                        self.answer(200, [{'Id': 'abc', 'Names': ['/one']}], chunked=True)
                    elif self.path.startswith('/v1.50/containers/missing/json'):
                        self.answer(404, {'message': 'No such container: missing'})
                    else:
                        self.answer(500, {'message': 'unexpected ' + self.path})
                def do_POST(self):
                    length = int(self.headers.get('Content-Length', '0'))
                    body = json.loads(self.rfile.read(length) or b'null')
                    if self.path == '/v1.50/containers/create?name=web':
                        self.answer(201, {'Id': 'id-of-' + body['Image'], 'Warnings': [], 'UserAgent': self.headers['User-Agent']})
                    else:
                        self.answer(500, {'message': 'unexpected ' + self.path})
                def log_message(self, *args):
                    pass
            http.server.ThreadingHTTPServer(('127.0.0.1', \(port)), Handler).serve_forever()
            """
        }
    }

    @Test("requests carry the API version, a JSON body and berth's user agent; chunked answers are read whole")
    func requests() throws {
        let daemon = try Self.fakeDaemon()
        defer { daemon.stop() }
        let client = EngineClient(host: "tcp://127.0.0.1:\(daemon.port)")
        let list = try client.request("GET", "/containers/json", query: [("all", "1")])
        #expect(list.status == 200)
        #expect(list.json.array?.first?["Names"]?.array?.first?.string == "/one")
        let created = try client.request("POST", "/containers/create", query: [("name", "web")], body: .object(["Image": .string("busybox")]))
        #expect(created.status == 201)
        #expect(created.json["Id"]?.string == "id-of-busybox")
        #expect(created.json["UserAgent"]?.string == "berth-cli/\(EngineAPIVersion.engine)")
    }

    @Test("an error status becomes the daemon's message, as the docker CLI prints it; an unreachable daemon says so")
    func errors() throws {
        let daemon = try Self.fakeDaemon()
        defer { daemon.stop() }
        let client = EngineClient(host: "tcp://127.0.0.1:\(daemon.port)")
        #expect {
            try client.request("GET", "/containers/missing/json")
        } throws: { error in
            guard case let .api(status, message) = error as? EngineClient.Failure else { return false }
            return status == 404 && message == "No such container: missing"
                && "\(error)" == "Error response from daemon: No such container: missing"
        }
        let nowhere = EngineClient(host: "unix:///nonexistent/berth.sock")
        #expect {
            try nowhere.request("GET", "/_ping")
        } throws: { error in
            "\(error)" == "Cannot connect to the Berth daemon at unix:///nonexistent/berth.sock. Is berthd running?"
        }
    }
}
