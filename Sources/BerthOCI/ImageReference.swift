/// An image reference normalized the way Docker does it.
///
/// `busybox` → `docker.io/library/busybox:latest`, `localhost:5000/a/b@sha256:…` keeps its
/// registry and digest. `description` prints the full form; `familiar` prints the short form
/// users see in `docker images`.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    public static let defaultDomain = "docker.io"
    public static let defaultTag = "latest"

    /// Registry host, with port if any (`docker.io`, `127.0.0.1:5000`).
    public let domain: String
    /// Repository path inside the registry (`library/busybox`).
    public let path: String
    public let tag: String?
    public let digest: Digest?

    /// Parses and normalizes `string`. A reference without tag or digest gets `:latest`.
    public init(parsing string: String) throws {
        try self.init(parsing: string, defaultTag: true)
    }

    /// Parses without adding `:latest` (for "tag optional" contexts such as `docker pull -a`).
    public init(parsing string: String, defaultTag: Bool) throws {
        func fail(_ reason: String) -> OCIError { .invalidReference(string, reason: reason) }
        guard !string.isEmpty else { throw fail("repository name must not be empty") }
        var rest = Substring(string)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            let digestPart = String(rest[rest.index(after: at)...])
            do { digest = try Digest(parsing: digestPart) } catch { throw fail("\(error)") }
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        if let tag, !Self.isValidTag(tag) {
            throw fail("tag \"\(tag)\" must be 1-128 characters of [A-Za-z0-9_.-], not starting with . or -")
        }
        let name = String(rest)
        guard !name.isEmpty else { throw fail("repository name must not be empty") }
        var domain = Self.defaultDomain
        var path = name
        if let slash = name.firstIndex(of: "/") {
            let first = String(name[..<slash])
            if first.contains(".") || first.contains(":") || first == "localhost" || first.lowercased() != first {
                domain = first
                path = String(name[name.index(after: slash)...])
            }
        }
        if domain == "index.docker.io" { domain = Self.defaultDomain }
        if domain == Self.defaultDomain && !path.contains("/") { path = "library/" + path }
        guard Self.isValidDomain(domain) else { throw fail("invalid registry host \"\(domain)\"") }
        if path.lowercased() != path { throw fail("repository name must be lowercase") }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        for component in components where !Self.isValidPathComponent(component) {
            throw fail("invalid repository path component \"\(component)\"")
        }
        guard domain.utf8.count + 1 + path.utf8.count <= 255 else { throw fail("repository name must not exceed 255 characters") }
        self.domain = domain
        self.path = path
        self.digest = digest
        self.tag = tag ?? ((digest == nil && defaultTag) ? Self.defaultTag : nil)
    }

    /// `docker.io/library/busybox`.
    public var repository: String { "\(domain)/\(path)" }

    /// `busybox` for Docker Hub official images, `user/app` for Hub users, else the full repository.
    public var familiarRepository: String {
        guard domain == Self.defaultDomain else { return repository }
        return path.hasPrefix("library/") ? String(path.dropFirst("library/".count)) : path
    }

    public var description: String { format(repository) }

    /// Short form, as `docker images` and `docker ps` print it.
    public var familiar: String { format(familiarRepository) }

    private func format(_ repo: String) -> String {
        var out = repo
        if let tag { out += ":" + tag }
        if let digest { out += "@" + digest.description }
        return out
    }

    static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard (1...128).contains(bytes.count) else { return false }
        func word(_ c: UInt8) -> Bool { isAlnum(c) || c == UInt8(ascii: "_") }
        guard word(bytes[0]) else { return false }
        return bytes.dropFirst().allSatisfy { word($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    static func isValidPathComponent(_ component: Substring) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if isLowerAlnum(c) { i += 1; continue }
            var j = i
            while j < bytes.count, !isLowerAlnum(bytes[j]) { j += 1 }
            let separator = bytes[i..<j]
            let ok = separator.elementsEqual([UInt8(ascii: ".")]) || separator.elementsEqual([UInt8(ascii: "_")])
                || separator.elementsEqual(Array("__".utf8)) || separator.allSatisfy { $0 == UInt8(ascii: "-") }
            if !ok { return false }
            i = j
        }
        return true
    }

    static func isValidDomain(_ domain: String) -> Bool {
        var host = Substring(domain)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let after = host[host.index(after: close)...]
            return after.isEmpty || (after.first == ":" && after.dropFirst().allSatisfy(\.isNumber) && after.count > 1)
        }
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            host = host[..<colon]
        }
        guard !host.isEmpty else { return false }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let b = Array(label.utf8)
            guard let f = b.first, let l = b.last, isAlnum(f), isAlnum(l) else { return false }
            return b.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
        }
    }
}

private func isLowerAlnum(_ c: UInt8) -> Bool {
    (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
}

private func isAlnum(_ c: UInt8) -> Bool {
    isLowerAlnum(c) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
}
