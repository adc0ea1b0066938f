import BerthClient
import BerthAPITypes
import BerthSystem
import Foundation
import Glibc

/// The docker CLI's configuration directory (`DOCKER_CONFIG`, default `~/.docker`) and its
/// `config.json`: registry credentials (`auths`, base64 `user:password`) and the current context.
/// Berth shares it with the docker CLI, so a login or a context made by one works in the other.
/// Keys Berth does not know are kept as they are.
struct DockerConfigFile {
    static let defaultRegistry = "https://index.docker.io/v1/"

    let directory: String
    var json: [String: JSONValue]

    static func directory(environment: [String: String]) -> String {
        if let configured = environment["DOCKER_CONFIG"], !configured.isEmpty { return configured }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.docker"
    }

    var path: String { directory + "/config.json" }

    /// Reads `config.json`; an absent file is an empty configuration, a malformed one an error.
    static func load(directory: String) throws -> DockerConfigFile {
        let path = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return DockerConfigFile(directory: directory, json: [:]) }
        guard let object = (try? JSONValue(parsing: data))?.object else {
            throw CLIError.message("loading config file \(path): invalid JSON", code: 1)
        }
        return DockerConfigFile(directory: directory, json: object)
    }

    /// Writes through a temporary file and a rename, mode 0600 (it holds credentials).
    func save() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = path + ".tmp-\(getpid())"
        let bytes = Array(PrettyJSON.render(.object(json)).utf8)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError.message("saving \(path): \(String(cString: strerror(errno)))", code: 1) }
        defer { close(fd) }
        do { try FileDescriptors.writeAll(fd, bytes + [10]) } catch {
            unlink(temporary)
            throw CLIError.message("saving \(path): \(error)", code: 1)
        }
        guard rename(temporary, path) == 0 else { throw CLIError.message("saving \(path): \(String(cString: strerror(errno)))", code: 1) }
    }

    /// The `auths` key for a registry host: docker.io's is docker's historical URL.
    static func serverKey(_ host: String) -> String {
        ["docker.io", "index.docker.io", "registry-1.docker.io", defaultRegistry].contains(host) ? defaultRegistry : host
    }

    func credentials(for host: String) -> (username: String, password: String)? {
        let auths = json["auths"]?.object ?? [:]
        let key = Self.serverKey(host)
        let entry = auths[key] ?? auths["https://" + key] ?? auths["http://" + key]
        guard let encoded = entry?["auth"]?.string, let data = Data(base64Encoded: encoded),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    mutating func setCredentials(_ username: String, _ password: String, for host: String) {
        var auths = json["auths"]?.object ?? [:]
        auths[Self.serverKey(host)] = .object(["auth": .string(Data("\(username):\(password)".utf8).base64EncodedString())])
        json["auths"] = .object(auths)
    }

    /// Removes the credentials; false when there were none.
    mutating func removeCredentials(for host: String) -> Bool {
        var auths = json["auths"]?.object ?? [:]
        guard auths.removeValue(forKey: Self.serverKey(host)) != nil else { return false }
        json["auths"] = .object(auths)
        return true
    }

    var currentContext: String? {
        get { json["currentContext"]?.string }
        set { json["currentContext"] = newValue.map(JSONValue.string) }
    }

    /// `X-Registry-Auth` for a registry host: base64url JSON of the stored credentials (an empty
    /// object when there are none, as the docker CLI sends).
    func registryAuthHeader(for host: String) -> (String, String) {
        var auth: [String: JSONValue] = [:]
        if let (username, password) = credentials(for: host) {
            auth = ["username": .string(username), "password": .string(password), "serveraddress": .string(Self.serverKey(host))]
        }
        let encoded = Data(Evaluator.json(.object(auth)).utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return ("X-Registry-Auth", encoded)
    }
}
