/// One Engine API endpoint: a method, a path pattern and what answers it.
struct Route: Sendable {
    typealias Handler = @Sendable (APIRequest, RouteParameters) async throws -> APIResponse

    let method: String
    let pattern: RoutePattern
    let handle: Handler

    init(_ method: String, _ pattern: String, _ handle: @escaping Handler) {
        self.method = method
        self.pattern = RoutePattern(pattern)
        self.handle = handle
    }
}

/// The values a pattern's `{name}` segments matched.
struct RouteParameters: Sendable {
    var values: [String: String] = [:]

    subscript(_ name: String) -> String { values[name] ?? "" }
}

/// A path pattern: literal segments, `{name}` for one segment, `{name*}` for one or more (image
/// names hold slashes: `/images/127.0.0.1:5000/team/app:1/json`), which takes what the literal
/// segments after it leave.
struct RoutePattern: Sendable, CustomStringConvertible {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case rest(String)
    }

    let segments: [Segment]
    let description: String

    init(_ text: String) {
        description = text
        segments = text.split(separator: "/").map { piece in
            guard piece.hasPrefix("{"), piece.hasSuffix("}") else { return .literal(String(piece)) }
            let name = piece.dropFirst().dropLast()
            return name.hasSuffix("*") ? .rest(String(name.dropLast())) : .parameter(String(name))
        }
    }

    /// The parameters if `path` (split into segments) matches, else nil.
    func match(_ path: [Substring]) -> RouteParameters? {
        var parameters = RouteParameters()
        guard let restIndex = segments.firstIndex(where: { if case .rest = $0 { return true } else { return false } }) else {
            guard path.count == segments.count else { return nil }
            for (segment, piece) in zip(segments, path) where !Self.bind(segment, piece, &parameters) { return nil }
            return parameters
        }
        // Before the rest, one segment each; after it, one each from the end; the rest between.
        let after = segments.count - restIndex - 1
        guard path.count >= segments.count else { return nil }
        for (segment, piece) in zip(segments[..<restIndex], path) where !Self.bind(segment, piece, &parameters) { return nil }
        for (segment, piece) in zip(segments.suffix(after), path.suffix(after)) where !Self.bind(segment, piece, &parameters) { return nil }
        guard case let .rest(name) = segments[restIndex] else { return nil }
        parameters.values[name] = path[restIndex..<(path.count - after)].joined(separator: "/")
        return parameters
    }

    private static func bind(_ segment: Segment, _ piece: Substring, _ parameters: inout RouteParameters) -> Bool {
        switch segment {
        case let .literal(text): return piece == text
        case let .parameter(name):
            parameters.values[name] = String(piece)
            return true
        case .rest: return false
        }
    }
}

/// Every endpoint berthd serves, looked up by method and path; the first route that matches
/// answers (specific patterns come before general ones in the list).
struct RouteTable: Sendable {
    let routes: [Route]

    init(_ routes: [Route]) { self.routes = routes }

    /// The route for `method` and `path` (without the `/v1.xx` prefix), with its parameters.
    func lookup(_ method: String, _ path: String) -> (Route, RouteParameters)? {
        let segments = path.split(separator: "/")
        for route in routes where route.method == method {
            if let parameters = route.pattern.match(segments) { return (route, parameters) }
        }
        return nil
    }
}
