@_exported import BerthAPITypes
import AsyncHTTPClient
import BerthOCI
import NIOCore
import NIOHTTP1
import Foundation

/// Registry access settings, with Docker's daemon.json meanings.
public struct RegistryConfiguration: Sendable {
    /// Hosts spoken to over plain HTTP. Loopback is always insecure, as in Docker.
    public var insecureRegistries: [String] = []
    /// Mirrors tried, in order, before docker.io itself (`registry-mirrors`).
    public var mirrors: [String] = []
    public var credentials: [String: RegistryCredentials] = [:]
    public var maxConcurrentDownloads = 3
    public var retries = 3

    public init() {}

    func isInsecure(_ host: String) -> Bool {
        let name = host.split(separator: ":").first.map(String.init) ?? host
        return name == "localhost" || name.hasPrefix("127.") || name == "[::1]" || insecureRegistries.contains(host)
    }
}

/// A Distribution API v2 client: manifests, blobs, token and basic auth, retries.
public final class RegistryClient: Sendable {
    public let configuration: RegistryConfiguration
    let http: HTTPClient
    private let tokens = TokenCache()

    public init(configuration: RegistryConfiguration) {
        self.configuration = configuration
        var httpConfig = HTTPClient.Configuration()
        httpConfig.redirectConfiguration = .follow(max: 5, allowCycles: false)
        httpConfig.timeout.connect = .seconds(10)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfig)
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// Base URLs to try for `domain` (mirrors first for docker.io).
    func endpoints(_ domain: String) -> [String] {
        let own = (configuration.isInsecure(domain) ? "http://" : "https://") + (domain == "docker.io" ? "registry-1.docker.io" : domain)
        return domain == "docker.io" ? configuration.mirrors.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } + [own] : [own]
    }

    /// Fetches the manifest for a tag or digest, in any form Berth understands.
    public func manifest(_ reference: ImageReference, accept: [String] = MediaType.acceptedManifests)
        async throws -> (data: Data, mediaType: String?, digest: Digest) {
        let tagOrDigest = reference.digest?.description ?? reference.tag ?? ImageReference.defaultTag
        let response = try await send(reference.domain, "/v2/\(reference.path)/manifests/\(tagOrDigest)", repository: reference.path,
                                      headers: [("Accept", accept.joined(separator: ", "))], what: reference.description)
        let body = Data(try await response.body.collect(upTo: 16 << 20).readableBytesView)
        let digest = Digest.sha256(of: body)
        if let expected = reference.digest, expected != digest {
            throw RegistryError.protocolError("manifest of \(reference) has digest \(digest), expected \(expected)")
        }
        return (body, response.headers.first(name: "Content-Type"), digest)
    }

    /// Opens a blob, from `offset` on (a resumed download); returns the response to stream and
    /// whether the registry honoured the range.
    public func blob(_ reference: ImageReference, _ digest: Digest, offset: Int64 = 0) async throws -> (HTTPClientResponse, resumed: Bool) {
        let headers = offset > 0 ? [("Range", "bytes=\(offset)-")] : []
        let response = try await send(reference.domain, "/v2/\(reference.path)/blobs/\(digest)", repository: reference.path,
                                      headers: headers, what: "\(reference.repository)@\(digest)")
        return (response, response.status == .partialContent)
    }

    /// `docker login`: the registry's `/v2/` root answers 200 with these credentials.
    public func checkLogin(host: String) async throws {
        let response = try await send(host, "/v2/", repository: "", headers: [], what: "login to \(host)", accept: [200])
        _ = try? await response.body.collect(upTo: 1 << 16)
    }

    /// One authenticated request with retries on 5xx and dropped connections. `path` may be a full
    /// URL (upload locations). `accept` lists the statuses that count as success.
    func send(_ domain: String, _ path: String, repository: String, method: HTTPMethod = .GET, body: ByteBuffer? = nil,
              headers: [(String, String)], what: String, push: Bool = false,
              accept: Set<UInt> = [200, 206]) async throws -> HTTPClientResponse {
        var lastError: Error = RegistryError.protocolError("no endpoint for \(domain)")
        for endpoint in endpoints(domain) {
            for attempt in 0..<max(1, configuration.retries) {
                if attempt > 0 { try await Task.sleep(nanoseconds: 200_000_000 << UInt64(attempt - 1)) }
                do {
                    let url = path.hasPrefix("http://") || path.hasPrefix("https://") ? path
                        : path.hasPrefix("/") ? endpoint + path : endpoint + "/" + path
                    let response = try await authenticatedRequest(url, method: method, body: body, domain: domain, repository: repository,
                                                                  headers: headers, push: push)
                    switch response.status.code {
                    case let code where accept.contains(code): return response
                    case 401, 403: throw RegistryError.unauthorized(what)
                    case 404: throw RegistryError.notFound(what)
                    case 500...599:
                        lastError = RegistryError.server(what, status: Int(response.status.code))
                        continue
                    default: throw RegistryError.server(what, status: Int(response.status.code))
                    }
                } catch let error as RegistryError {
                    if case .server = error { lastError = error; continue }
                    throw error
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    lastError = RegistryError.protocolError("cannot reach \(domain) for \(what): \(error)")
                }
            }
        }
        throw lastError
    }

    private func authenticatedRequest(_ url: String, method: HTTPMethod, body: ByteBuffer?, domain: String, repository: String,
                                      headers: [(String, String)], push: Bool) async throws -> HTTPClientResponse {
        let scope = "repository:\(repository):" + (push ? "pull,push" : "pull")
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.body = .bytes(body)
            request.headers.replaceOrAdd(name: "Content-Length", value: "\(body.readableBytes)")
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let token = await tokens.get(domain, scope) { request.headers.replaceOrAdd(name: "Authorization", value: token) }
        let response = try await http.execute(request, timeout: .seconds(300))
        guard response.status == .unauthorized, let challenge = response.headers.first(name: "WWW-Authenticate") else { return response }
        _ = try? await response.body.collect(upTo: 1 << 16)
        guard let authorization = try await authorize(challenge, domain: domain, scope: scope) else { return response }
        await tokens.set(domain, scope, authorization)
        request.headers.replaceOrAdd(name: "Authorization", value: authorization)
        return try await http.execute(request, timeout: .seconds(300))
    }

    /// Turns a `WWW-Authenticate` challenge into an `Authorization` header value.
    private func authorize(_ challenge: String, domain: String, scope: String) async throws -> String? {
        let credentials = configuration.credentials[domain]
        let (scheme, parameters) = Self.parseChallenge(challenge)
        switch scheme.lowercased() {
        case "basic":
            guard let credentials else { return nil }
            return "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
        case "bearer":
            guard let realm = parameters["realm"] else { return nil }
            var query = ["scope=\(Self.escape(parameters["scope"] ?? scope))"]
            if let service = parameters["service"] { query.append("service=\(Self.escape(service))") }
            var request = HTTPClientRequest(url: realm + (realm.contains("?") ? "&" : "?") + query.joined(separator: "&"))
            if let credentials {
                request.headers.add(name: "Authorization", value: "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString())
            }
            let response = try await http.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw RegistryError.unauthorized("\(domain) (token server answered \(response.status.code))") }
            struct Token: Decodable { var token: String?; var access_token: String? }
            guard let token = try? JSONDecoder().decode(Token.self, from: Data(body.readableBytesView)), let value = token.token ?? token.access_token else {
                throw RegistryError.protocolError("token server for \(domain) sent no token")
            }
            return "Bearer " + value
        default:
            return nil
        }
    }

    /// `Bearer realm="https://auth",service="registry",scope="repository:a:pull"` → ("Bearer", [...]).
    static func parseChallenge(_ header: String) -> (String, [String: String]) {
        let trimmed = header.drop(while: { $0 == " " })
        guard let space = trimmed.firstIndex(of: " ") else { return (String(trimmed), [:]) }
        var parameters: [String: String] = [:]
        var rest = trimmed[trimmed.index(after: space)...]
        while !rest.isEmpty {
            rest = rest.drop(while: { $0 == " " || $0 == "," })
            guard let eq = rest.firstIndex(of: "=") else { break }
            let key = String(rest[..<eq]).lowercased()
            rest = rest[rest.index(after: eq)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                let end = rest.firstIndex(of: "\"") ?? rest.endIndex
                value = String(rest[..<end])
                rest = end < rest.endIndex ? rest[rest.index(after: end)...] : rest[end...]
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = String(rest[..<end])
                rest = rest[end...]
            }
            parameters[key] = value
        }
        return (String(trimmed[..<space]), parameters)
    }

    static func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? value
    }
}

/// Authorization values by (registry, scope), shared by concurrent downloads.
actor TokenCache {
    private var values: [String: String] = [:]

    func get(_ domain: String, _ scope: String) -> String? { values[domain + " " + scope] }
    func set(_ domain: String, _ scope: String, _ value: String) { values[domain + " " + scope] = value }
}
