import BerthAPITypes
import BerthSystem
import Foundation
import Glibc

/// A blocking Engine API client for the CLI: one connection per request over a Unix socket or
/// TCP, HTTP/1.1 with chunked responses and connection hijacking (attach, exec). No event loop:
/// a command-line tool does one thing at a time and must start fast.
public struct EngineClient: Sendable {
    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// The daemon could not be reached.
        case unreachable(host: String, reason: String)
        /// An error answer: the HTTP status and the daemon's `message`.
        case api(status: Int, message: String)
        case protocolError(String)

        public var description: String {
            switch self {
            case let .unreachable(host, _): return "Cannot connect to the Berth daemon at \(host). Is berthd running?"
            case let .api(_, message): return "Error response from daemon: \(message)"
            case let .protocolError(message): return "error during connect: \(message)"
            }
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: [UInt8]

        public var json: JSONValue { (try? JSONValue(parsing: body)) ?? .null }
    }

    /// `unix:///path` or `tcp://host:port`.
    public let host: String
    /// TLS for a `tcp://` host; nil for plain connections.
    public let tls: ClientTLS?
    public let apiVersion: String

    public init(host: String, tls: ClientTLS? = nil, apiVersion: String = "1.50") {
        self.host = host
        self.tls = tls
        self.apiVersion = apiVersion
    }

    // MARK: Requests

    /// Sends a request and reads the whole answer; error statuses throw `.api`.
    public func request(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
                        rawBody: [UInt8]? = nil, headers: [(String, String)] = []) throws -> Response {
        var collected: [UInt8] = []
        let head = try stream(method, path, query: query, body: body, rawBody: rawBody, headers: headers) { collected += $0 }
        return Response(status: head.status, headers: head.headers, body: collected)
    }

    /// Sends a request and hands the body to `onData` as it arrives (logs -f, events, pull progress).
    /// `upload` is a descriptor (a file, stdin) whose contents are the body, sent in chunks as
    /// read: an archive of any size is never held in memory.
    @discardableResult
    public func stream(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
                       rawBody: [UInt8]? = nil, upload: Int32? = nil, headers: [(String, String)] = [],
                       onData: ([UInt8]) throws -> Void) throws -> (status: Int, headers: [String: String]) {
        let connection = try Connection(host: host, tls: tls)
        defer { connection.close() }
        try connection.send(requestHead(method, path, query: query, body: body, rawBody: rawBody, chunked: upload != nil,
                                        headers: headers, upgrade: false)
            + (rawBody ?? body.map { Array($0.bytes) } ?? []))
        if let upload { try sendChunked(upload, on: connection) }
        let (status, responseHeaders) = try connection.readHead()
        if status >= 400 {
            var errorBody: [UInt8] = []
            try connection.readBody(headers: responseHeaders) { errorBody += $0 }
            throw Failure.api(status: status, message: Self.message(errorBody))
        }
        // 204 and 304 have no body by definition (the server need not close the connection after them).
        if status != 204 && status != 304 && method != "HEAD" { try connection.readBody(headers: responseHeaders, onData) }
        return (status, responseHeaders)
    }

    /// Sends a request whose answer is JSON lines (progress, events, stats) and hands each line
    /// to `onLine` as it arrives, decoded and raw; lines that are not JSON are skipped.
    @discardableResult
    public func streamJSONLines(_ method: String, _ path: String, query: [(String, String)] = [], rawBody: [UInt8]? = nil,
                                upload: Int32? = nil, headers: [(String, String)] = [],
                                onLine: (JSONValue, Data) throws -> Void) throws -> (status: Int, headers: [String: String]) {
        var pending: [UInt8] = []
        func deliver(_ line: ArraySlice<UInt8>) throws {
            let data = Data(line)
            if let value = try? JSONValue(parsing: data) { try onLine(value, data) }
        }
        let head = try stream(method, path, query: query, rawBody: rawBody, upload: upload, headers: headers) { bytes in
            pending += bytes
            while let newline = pending.firstIndex(of: 10) {
                try deliver(pending[..<newline])
                pending.removeSubrange(...newline)
            }
        }
        if !pending.isEmpty { try deliver(pending[...]) }
        return head
    }

    /// Upgrades the connection to a raw stream (attach, exec start): the socket and any bytes already read past the head.
    public func hijack(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil) throws -> (fd: Int32, pending: [UInt8]) {
        let connection = try Connection(host: host, tls: tls)
        do {
            try connection.send(requestHead(method, path, query: query, body: body, rawBody: nil, chunked: false, headers: [], upgrade: true)
                + (body.map { Array($0.bytes) } ?? []))
            let (status, headers) = try connection.readHead()
            if status >= 400 {
                var errorBody: [UInt8] = []
                try connection.readBody(headers: headers) { errorBody += $0 }
                throw Failure.api(status: status, message: Self.message(errorBody))
            }
            return (connection.fd, connection.takeBuffered())
        } catch {
            connection.close()
            throw error
        }
    }

    static func message(_ body: [UInt8]) -> String {
        if let value = try? JSONValue(parsing: body), let message = value["message"]?.string { return message }
        return String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Sends what `fd` holds as a chunked body. A server that answered early (a refusal) and
    /// closed is not an error here: its answer is read next.
    private func sendChunked(_ fd: Int32, on connection: Connection) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Failure.protocolError("read the upload: \(String(cString: strerror(errno)))") }
            let frame = Array((String(count, radix: 16) + "\r\n").utf8) + buffer[0..<count] + Array((count == 0 ? "\r\n\r\n" : "\r\n").utf8)
            do { try connection.send(frame) } catch { return }
            if count == 0 { return }
        }
    }

    private func requestHead(_ method: String, _ path: String, query: [(String, String)], body: JSONValue?, rawBody: [UInt8]?,
                             chunked: Bool, headers: [(String, String)], upgrade: Bool) -> [UInt8] {
        var target = "/v\(apiVersion)\(path)"
        if !query.isEmpty {
            target += "?" + query.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        }
        var lines = ["\(method) \(target) HTTP/1.1", "Host: berth", "User-Agent: berth-cli/\(EngineAPIVersion.engine)"]
        let length = rawBody?.count ?? body.map { $0.bytes.count }
        if let length {
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                lines.append("Content-Type: \(rawBody == nil ? "application/json" : "application/x-tar")")
            }
            lines.append("Content-Length: \(length)")
        } else if chunked {
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) { lines.append("Content-Type: application/x-tar") }
            lines.append("Transfer-Encoding: chunked")
        }
        for (name, value) in headers { lines.append("\(name): \(value)") }
        lines.append(upgrade ? "Connection: Upgrade\r\nUpgrade: tcp" : "Connection: close")
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// One HTTP/1.1 connection: writes a request, reads a response head and body.
final class Connection {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(host: String, tls: ClientTLS?) throws {
        if host.hasPrefix("unix://") {
            let path = String(host.dropFirst(7))
            do { fd = try UnixSocket.connect(path) } catch {
                throw EngineClient.Failure.unreachable(host: host, reason: "\(error)")
            }
            return
        }
        let rest = host.hasPrefix("tcp://") ? String(host.dropFirst(6)) : host
        guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]) else {
            throw EngineClient.Failure.protocolError("invalid host \(host): use unix:///path or tcp://host:port")
        }
        let name = String(rest[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if let tls {
            fd = try TLSRelay.connect(host: name.isEmpty ? "127.0.0.1" : name, port: Int(port), tls: tls)
            return
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name.isEmpty ? "127.0.0.1" : name, String(port), &hints, &result) == 0, let info = result else {
            throw EngineClient.Failure.unreachable(host: host, reason: "cannot resolve \(name)")
        }
        defer { freeaddrinfo(result) }
        let socketFD = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0, Glibc.connect(socketFD, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            if socketFD >= 0 { Glibc.close(socketFD) }
            throw EngineClient.Failure.unreachable(host: host, reason: reason)
        }
        fd = socketFD
    }

    /// Writes all of `bytes`; a daemon that closed the connection is an error, not a SIGPIPE.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw EngineClient.Failure.protocolError("write: \(String(cString: strerror(errno)).lowercased())") }
            offset += n
        }
    }

    func close() { Glibc.close(fd) }

    func takeBuffered() -> [UInt8] {
        defer { buffer = [] }
        return buffer
    }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        let chunk: [UInt8]
        do { chunk = try FileDescriptors.read(fd) } catch {
            throw EngineClient.Failure.protocolError("read: \(error)")
        }
        if chunk.isEmpty { return false }
        buffer += chunk
        return true
    }

    private func readLine() throws -> String? {
        while true {
            if let end = buffer.firstIndex(of: 10) {
                let line = buffer[..<end]
                buffer.removeSubrange(...end)
                return String(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
            }
            if try !fill() { return nil }
        }
    }

    func readHead() throws -> (Int, [String: String]) {
        guard let statusLine = try readLine() else { throw EngineClient.Failure.protocolError("the daemon closed the connection") }
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw EngineClient.Failure.protocolError("not an HTTP answer: \(statusLine)")
        }
        var headers: [String: String] = [:]
        while let line = try readLine(), !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers)
    }

    func readBody(headers: [String: String], _ onData: ([UInt8]) throws -> Void) throws {
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            while let sizeLine = try readLine() {
                guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                    throw EngineClient.Failure.protocolError("bad chunk size \(sizeLine)")
                }
                if size == 0 { return }
                while buffer.count < size + 2 { if try !fill() { break } }
                let take = min(size, buffer.count)
                try onData(Array(buffer[..<take]))
                buffer.removeFirst(min(size + 2, buffer.count))
            }
            return
        }
        if let length = headers["content-length"].flatMap(Int.init) {
            var left = length
            while left > 0 {
                if buffer.isEmpty, try !fill() { return }
                let take = min(left, buffer.count)
                try onData(Array(buffer[..<take]))
                buffer.removeFirst(take)
                left -= take
            }
            return
        }
        while true {
            if !buffer.isEmpty { try onData(takeBuffered()) }
            if try !fill() { return }
        }
    }
}
