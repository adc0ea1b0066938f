import Foundation

/// A user name and password (or identity token) for one registry.
public struct RegistryCredentials: Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// `auths` of a Docker client config (`~/.docker/config.json`): host → base64 "user:password".
    public static func fromDockerConfig(_ data: Data) -> [String: RegistryCredentials] {
        struct Config: Decodable {
            struct Auth: Decodable { var auth: String?; var username: String?; var password: String? }
            var auths: [String: Auth]?
        }
        guard let config = try? JSONDecoder().decode(Config.self, from: data) else { return [:] }
        var result: [String: RegistryCredentials] = [:]
        for (key, auth) in config.auths ?? [:] {
            let host = normalizedHost(key)
            if let encoded = auth.auth, let decoded = Data(base64Encoded: encoded),
               let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") {
                result[host] = RegistryCredentials(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
            } else if let user = auth.username, let password = auth.password {
                result[host] = RegistryCredentials(username: user, password: password)
            }
        }
        return result
    }

    /// `https://index.docker.io/v1/` → `docker.io`; `http://127.0.0.1:5000` → `127.0.0.1:5000`.
    static func normalizedHost(_ key: String) -> String {
        var host = key
        for prefix in ["https://", "http://"] where host.hasPrefix(prefix) { host = String(host.dropFirst(prefix.count)) }
        host = String(host.split(separator: "/").first ?? "")
        return ["index.docker.io", "registry-1.docker.io"].contains(host) ? "docker.io" : host
    }
}
