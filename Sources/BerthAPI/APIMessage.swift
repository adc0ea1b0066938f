import BerthEngine
import Foundation
import NIOCore

/// One Engine API request: its body read in full, or (for the routes that take archives) as
/// it arrives, in `upload`.
public struct APIRequest: Sendable {
    public var method: String
    /// Without the `/v1.xx` prefix.
    public var path: String
    public var query: [String: String]
    /// Every `key=value` in order, for repeated keys.
    public var queryPairs: [(String, String)]
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The body of an upload route, read as the route consumes it (`body` is then empty).
    public var upload: RequestBody?
    /// The API version the client asked for (`/v1.43/...`), or the server's.
    public var version: String

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public func flag(_ name: String) -> Bool {
        guard let value = query[name] else { return false }
        return value == "1" || value.lowercased() == "true"
    }

    public func int(_ name: String) -> Int? { query[name].flatMap { Int($0) } }

    /// `h` or `w` of a resize: a number of rows or columns a terminal can have (dockerd parses it
    /// with strconv.Atoi and answers 400 when that fails).
    func terminalDimension(_ name: String) throws -> Int {
        let text = query[name] ?? ""
        guard let value = Int(text), (0...Int(UInt16.max)).contains(value) else {
            throw EngineError(.badRequest, "invalid \(name == "h" ? "height" : "width") \"\(text)\": a number from 0 to 65535")
        }
        return value
    }

    /// The body as JSON; an empty body is an empty object.
    public func json() throws -> JSONValue {
        if body.isEmpty { return .object([:]) }
        do { return try JSONValue(parsing: body) } catch {
            throw EngineError(.badRequest, "invalid JSON in the request body: \(error)")
        }
    }

    /// `filters={"status":{"running":true}}` or the older `{"status":["running"]}`.
    public func filters() throws -> [String: [String]] {
        guard let text = query["filters"], !text.isEmpty else { return [:] }
        guard let value = try? JSONValue(parsing: text.utf8), let object = value.object else {
            throw EngineError(.badRequest, "invalid filters: \(text)")
        }
        return object.mapValues { entry in
            if let list = entry.array { return list.compactMap(\.string) }
            return (entry.object ?? [:]).filter { $0.value.bool ?? true }.map(\.key).sorted()
        }
    }
}

/// Bytes sent to a hijacked connection and received from it.
public typealias HijackAction = @Sendable (HijackedStream) async -> Void

/// What a route answers.
public enum APIResponse: Sendable {
    case json(Int, JSONValue)
    case bytes(Int, contentType: String, [UInt8], headers: [(String, String)] = [])
    case empty(Int)
    /// Headers only (HEAD requests that report through headers, such as the archive stat).
    case headers(Int, [(String, String)])
    /// Chunked body produced over time (pull progress, `logs -f`, events). Each chunk is written
    /// before the next is asked for: a stream made with `AsyncStream(unfolding:)` is read at the
    /// client's pace.
    case stream(contentType: String, headers: [(String, String)] = [], AsyncStream<[UInt8]>)
    /// A chunked body read on demand at the client's pace (save, export, archives); an error
    /// part-way ends the connection without the final chunk, so the client sees the failure.
    case download(contentType: String, headers: [(String, String)] = [], AsyncThrowingStream<[UInt8], any Error>)
    /// Switches the connection to raw bytes (attach, exec start) and hands it to the action.
    case hijack(contentType: String, HijackAction)

    static func error(_ error: Error) -> APIResponse {
        let engineError = error as? EngineError ?? EngineError(.internalError, "\(error)")
        return .json(engineError.httpStatus, .object(["message": .string(engineError.message)]))
    }
}
