@_exported import BerthAPITypes
import BerthEngine
import BerthImages
import BerthRegistry
import Foundation
import NIOHTTP1

/// The Engine API's entry: checks the API version, finds the route in one table made of each
/// resource's router (containers and exec, images, system; networks, volumes and build will
/// add theirs), and turns every error into Docker's `{"message": …}` body with the status its
/// kind maps to — in one place, `Router.mapped`.
public final class Router: Sendable {
    public static let apiVersion = EngineAPIVersion.current
    public static let minimumAPIVersion = EngineAPIVersion.minimum
    public static let engineVersion = EngineAPIVersion.engine

    let table: RouteTable
    let debug: Bool

    public convenience init(engine: ContainerEngine, registry: RegistryClient) {
        self.init(containers: engine, images: ImageService(engine: engine, registry: registry), networks: engine.networks,
                  volumes: engine, events: engine.events, config: engine.config)
    }

    /// The routers over these backends (fakes, in the routers' tests).
    public init(containers: any ContainerBackend, images: any ImageBackend, networks: any NetworkBackend, volumes: any VolumeBackend,
                events: EventBus, config: DaemonConfig, describeHost: (@Sendable () -> HostDescription)? = nil) {
        let dataRoot = config.dataRoot
        table = RouteTable(ContainerRouter(engine: containers).routes + ImageRouter(images: images).routes + NetworkRouter(networks: networks, containers: containers).routes
            + VolumeRouter(volumes: volumes).routes
            + SystemRouter(containers: containers, images: images, volumes: volumes, events: events, config: config,
                           describeHost: describeHost ?? { HostDescription.read(dataRoot: dataRoot) }).routes)
        debug = config.debug
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
        guard debug else { return await route(request) }
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
            if let (route, parameters) = table.lookup(request.method, request.path) {
                return try await route.handle(request, parameters)
            }
            throw Router.unrouted(request)
        } catch {
            let mapped = Router.mapped(error)
            // A fault of the daemon, not of the request: the operator's log says what and why.
            if let failure = mapped as? EngineError, failure.httpStatus >= 500, failure.kind != .notImplemented, failure.kind != .serviceUnavailable {
                EngineLog.logger.error("\(request.method) \(request.path): \(failure.message)\(failure.cause.map { " (\(String(reflecting: $0)))" } ?? "")")
            }
            return .error(mapped)
        }
    }

    /// Store and registry errors as the Engine API reports them.
    static func mapped(_ error: Error) -> Error {
        if let registryError = error as? RegistryError {
            switch registryError {
            case .unauthorized: return EngineError(.unauthorized, registryError.description, cause: registryError)
            case .notFound, .noMatchingPlatform: return EngineError(.notFound, registryError.description, cause: registryError)
            case .server, .protocolError: return EngineError(.internalError, registryError.description, cause: registryError)
            }
        }
        if let storeError = error as? ImageStoreError {
            switch storeError {
            case .imageNotFound: return EngineError(.notFound, storeError.description, cause: storeError)
            case .conflict: return EngineError(.conflict, storeError.description, cause: storeError)
            default: return EngineError(.internalError, storeError.description, cause: storeError)
            }
        }
        if error is EngineError { return error }
        return EngineError(.internalError, "\(error)", cause: error)
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

    /// The answer for a path no route takes: what dockerd says outside a swarm, Berth's word
    /// for the areas it does not serve yet, else 404.
    static func unrouted(_ request: APIRequest) -> EngineError {
        let segments = request.path.split(separator: "/")
        switch segments.first ?? "" {
        case "swarm", "nodes", "services", "tasks", "secrets", "configs":
            // As dockerd on a node outside a swarm (Berth never joins one): clients that clean
            // up swarm state expect these answers.
            if segments == ["swarm", "leave"] && request.method == "POST" {
                return EngineError(.serviceUnavailable, "This node is not part of a swarm")
            }
            return EngineError(.serviceUnavailable, "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.")
        case "build", "plugins", "distribution", "session", "grpc":
            return EngineError(.notImplemented, "/\(segments[0]) is not supported by Berth yet")
        case "containers", "exec", "images":
            return EngineError(.notFound, "page not found: \(request.method) \(request.path)")
        default:
            return EngineError(.notFound, "page not found")
        }
    }
}
