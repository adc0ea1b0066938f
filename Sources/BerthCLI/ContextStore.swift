import BerthClient
import BerthDigest
import BerthAPITypes
import BerthSystem
import Foundation
import Glibc

/// The docker CLI's context store, in its own layout so that both CLIs see the same contexts:
/// `contexts/meta/<sha256(name)>/meta.json` (name, description, the docker endpoint's host and
/// `SkipTLSVerify`) and `contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem`.
struct ContextStore {
    static let defaultName = "default"

    /// A named daemon endpoint.
    struct Context: Equatable {
        var name: String
        var description: String
        var host: String
        var skipTLSVerify: Bool
    }

    let configDirectory: String

    private var metaRoot: String { configDirectory + "/contexts/meta" }
    private var tlsRoot: String { configDirectory + "/contexts/tls" }

    static func key(_ name: String) -> String {
        var hasher = DigestHasher()
        hasher.update(Array(name.utf8))
        return hasher.finalize().encoded
    }

    func metaDirectory(_ name: String) -> String { metaRoot + "/" + Self.key(name) }
    func tlsDirectory(_ name: String) -> String { tlsRoot + "/" + Self.key(name) + "/docker" }

    /// docker's rule for names: a letter or digit, then letters, digits, `.`, `_`, `+`, `-`.
    static func validate(_ name: String) throws {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._+-"))
        guard let first = name.unicodeScalars.first, CharacterSet.alphanumerics.contains(first),
              name.unicodeScalars.allSatisfy({ allowed.contains($0) && $0.isASCII }) else {
            throw CLIError.message("context name \"\(name)\" is invalid, names are validated against regexp \"^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$\"", code: 1)
        }
        guard name != defaultName else { throw CLIError.message("\"default\" is a reserved context name", code: 1) }
    }

    func list() -> [Context] {
        SmallFile.list(metaRoot).compactMap { load(metaRoot + "/" + $0 + "/meta.json") }.sorted { $0.name < $1.name }
    }

    func context(_ name: String) -> Context? {
        load(metaDirectory(name) + "/meta.json")
    }

    private func load(_ path: String) -> Context? {
        guard let data = FileManager.default.contents(atPath: path), let meta = try? JSONValue(parsing: data),
              let name = meta["Name"]?.string else { return nil }
        let docker = meta["Endpoints"]?["docker"]
        return Context(name: name, description: meta["Metadata"]?["Description"]?.string ?? "",
                       host: docker?["Host"]?.string ?? "", skipTLSVerify: docker?["SkipTLSVerify"]?.bool ?? false)
    }

    /// Writes the context's metadata (replacing it atomically) and copies its TLS files in.
    func save(_ context: Context, tlsFiles: [String: String] = [:]) throws {
        let directory = metaDirectory(context.name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let meta: JSONValue = .object([
            "Name": .string(context.name),
            "Metadata": .object(["Description": .string(context.description)]),
            "Endpoints": .object(["docker": .object(["Host": .string(context.host), "SkipTLSVerify": .bool(context.skipTLSVerify)])]),
        ])
        try SmallFile.write(directory + "/meta.json.tmp", Evaluator.json(meta), create: true)
        guard rename(directory + "/meta.json.tmp", directory + "/meta.json") == 0 else {
            throw CLIError.message("saving context \(context.name): \(String(cString: strerror(errno)))", code: 1)
        }
        guard !tlsFiles.isEmpty else { return }
        let tls = tlsDirectory(context.name)
        try FileManager.default.createDirectory(atPath: tls, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (name, source) in tlsFiles {
            guard let data = FileManager.default.contents(atPath: source) else {
                throw CLIError.message("unable to read \(source): \(String(cString: strerror(errno)).lowercased())", code: 1)
            }
            guard FileManager.default.createFile(atPath: tls + "/" + name, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw CLIError.message("saving \(name) of context \(context.name) failed", code: 1)
            }
        }
    }

    func remove(_ name: String) {
        try? FileManager.default.removeItem(atPath: metaDirectory(name))
        try? FileManager.default.removeItem(atPath: tlsRoot + "/" + Self.key(name))
    }

    /// The TLS settings a context's endpoint needs: none for unix sockets; for TCP, its stored
    /// CA (verified unless `SkipTLSVerify`) and client certificate.
    func tls(for context: Context) -> ClientTLS? {
        let directory = tlsDirectory(context.name)
        func file(_ name: String) -> String? {
            FileManager.default.fileExists(atPath: directory + "/" + name) ? directory + "/" + name : nil
        }
        let ca = file("ca.pem"), cert = file("cert.pem"), key = file("key.pem")
        guard ca != nil || cert != nil || context.skipTLSVerify else { return nil }
        return ClientTLS(caFile: ca, certFile: cert, keyFile: key, verify: !context.skipTLSVerify)
    }
}
