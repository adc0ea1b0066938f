@_exported import BerthAPITypes
import BerthEngine
import BerthImages
import BerthRegistry
import Foundation
import NIOHTTP1

/// Maps Engine API paths to the engine. Every route answers an `APIResponse`; errors become
/// Docker's `{"message": …}` bodies with the status their kind maps to.
public final class Router: Sendable {
    public static let apiVersion = EngineAPIVersion.current
    public static let minimumAPIVersion = EngineAPIVersion.minimum
    public static let engineVersion = EngineAPIVersion.engine

    let engine: ContainerEngine
    let imageService: ImageService
    let events: EventBus
    let config: DaemonConfig
    let started = Date()

    public init(engine: ContainerEngine, registry: RegistryClient) {
        self.engine = engine
        imageService = ImageService(engine: engine, registry: registry)
        events = engine.events
        config = engine.config
    }

    static func makeRequest(head: HTTPRequestHead, body: [UInt8]) -> APIRequest {
        let uri = head.uri
        let pathPart = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        var query: [String: String] = [:]
        var pairs: [(String, String)] = []
        if let questionMark = uri.firstIndex(of: "?") {
            for pair in uri[uri.index(after: questionMark)...].split(separator: "&") {
                // `=` and `=v` have an empty key (Go's url.ParseQuery keeps them too): never index
                // a split that drops empty pieces.
                let equals = pair.firstIndex(of: "=")
                let key = decodeQueryComponent(pair[..<(equals ?? pair.endIndex)])
                let value = equals.map { decodeQueryComponent(pair[pair.index(after: $0)...]) } ?? ""
                query[key] = value
                pairs.append((key, value))
            }
        }
        var path = pathPart.removingPercentEncoding ?? pathPart
        var version = apiVersion
        if path.hasPrefix("/v"), let slash = path.dropFirst().firstIndex(of: "/") {
            let candidate = String(path[path.index(path.startIndex, offsetBy: 2)..<slash])
            if candidate.allSatisfy({ $0.isNumber || $0 == "." }), !candidate.isEmpty {
                version = candidate
                path = String(path[slash...])
            }
        }
        return APIRequest(method: head.method.rawValue, path: path, query: query, queryPairs: pairs,
                          headers: head.headers.map { ($0.name, $0.value) }, body: body, version: version)
    }

    /// The routes whose bodies are archives of any size: read as they arrive, never whole.
    static func takesUpload(_ request: APIRequest) -> Bool {
        let segments = request.path.split(separator: "/")
        switch (request.method, segments.first) {
        case ("POST", "images"): return segments.count == 2 && (segments[1] == "load" || (segments[1] == "create" && request.query["fromSrc"] != nil))
        case ("PUT", "containers"): return segments.count == 3 && segments[2] == "archive"
        case ("POST", "build"): return true
        default: return false
        }
    }

    private static func decodeQueryComponent(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    public func handle(_ request: APIRequest) async -> APIResponse {
        guard config.debug else { return await route(request) }
        let start = ContinuousClock.now
        let response = await route(request)
        let elapsed = ContinuousClock.now - start
        FileHandle.standardError.write(Data("berthd: \(request.method) \(request.path) \(elapsed)\n".utf8))
        return response
    }

    private func route(_ request: APIRequest) async -> APIResponse {
        do {
            if Router.compare(request.version, Router.apiVersion) > 0 {
                throw EngineError(.badRequest, "client version \(request.version) is too new. Maximum supported API version is \(Router.apiVersion)")
            }
            if Router.compare(request.version, Router.minimumAPIVersion) < 0 {
                throw EngineError(.badRequest, "client version \(request.version) is too old. Minimum supported API version is \(Router.minimumAPIVersion), please upgrade your client to a newer version")
            }
            let segments = request.path.split(separator: "/").map(String.init)
            guard let first = segments.first else { throw EngineError(.notFound, "page not found") }
            switch first {
            case "_ping": return ping(request)
            case "version", "info", "events", "system", "auth": return try await system(request, segments)
            case "containers": return try await containers(request, Array(segments.dropFirst()))
            case "exec": return try await exec(request, Array(segments.dropFirst()))
            case "images": return try await images(request, Array(segments.dropFirst()))
            case "commit" where request.method == "POST": return try await commit(request)
            case "swarm", "nodes", "services", "tasks", "secrets", "configs":
                // As dockerd on a node outside a swarm (Berth never joins one): clients that
                // clean up swarm state expect these answers.
                if first == "swarm" && segments.count == 2 && segments[1] == "leave" && request.method == "POST" {
                    throw EngineError(.serviceUnavailable, "This node is not part of a swarm")
                }
                throw EngineError(.serviceUnavailable, "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.")
            case "networks", "volumes", "build", "plugins", "distribution", "session", "grpc":
                throw EngineError(.notImplemented, "/\(first) is not supported by Berth yet")
            default:
                throw EngineError(.notFound, "page not found")
            }
        } catch {
            return .error(Router.mapped(error))
        }
    }

    /// Store and registry errors as the Engine API reports them.
    static func mapped(_ error: Error) -> Error {
        if let registryError = error as? RegistryError {
            switch registryError {
            case .unauthorized: return EngineError(.unauthorized, registryError.description)
            case .notFound, .noMatchingPlatform: return EngineError(.notFound, registryError.description)
            case .server, .protocolError: return EngineError(.internalError, registryError.description)
            }
        }
        if let storeError = error as? ImageStoreError {
            switch storeError {
            case .imageNotFound: return EngineError(.notFound, storeError.description)
            case .conflict: return EngineError(.conflict, storeError.description)
            default: return EngineError(.internalError, storeError.description)
            }
        }
        return error
    }

    static func compare(_ a: String, _ b: String) -> Int {
        let left = a.split(separator: ".").compactMap { Int($0) }, right = b.split(separator: ".").compactMap { Int($0) }
        for index in 0..<max(left.count, right.count) {
            let l = index < left.count ? left[index] : 0, r = index < right.count ? right[index] : 0
            if l != r { return l < r ? -1 : 1 }
        }
        return 0
    }

    static func httpDate() -> String {
        // strftime in the C locale: DateFormatter would load ICU's data into the daemon.
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func ping(_ request: APIRequest) -> APIResponse {
        .bytes(200, contentType: "text/plain; charset=utf-8", Array("OK".utf8))
    }

    static func unsupported(_ request: APIRequest) -> EngineError {
        EngineError(.notFound, "page not found: \(request.method) \(request.path)")
    }
}
