import ArgumentParser
import BerthClient
import BerthAPITypes
import Foundation
import Glibc

/// `berth login`: the daemon checks the credentials against the registry (`POST /auth`), then
/// they are stored in `config.json` as the docker CLI stores them.
struct Login: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Authenticate to a registry")
    @Option(name: [.short, .long], help: "Username") var username: String?
    @Option(name: [.short, .long], help: "Password") var password: String?
    @Flag(help: "Take the password from stdin") var passwordStdin = false
    @Argument var server: String?

    func run() throws {
        let host = Self.host(server ?? DockerConfigFile.defaultRegistry)
        if password != nil && passwordStdin { throw CLIError.usage("--password and --password-stdin are mutually exclusive") }
        var user = username, secret = password
        if passwordStdin {
            guard user != nil else { throw CLIError.usage("Must provide --username with --password-stdin") }
            let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            secret = text.trimmingCharacters(in: .newlines)
        } else if password != nil {
            FileHandle.standardError.write(Data("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n".utf8))
        }
        var config = try DockerConfigFile.load(directory: session.configDirectory)
        if user == nil || secret == nil, let stored = config.credentials(for: host), user == nil || user == stored.username {
            // `berth login SERVER` with stored credentials checks them again, as docker does.
            user = stored.username
            secret = secret ?? stored.password
        }
        if user == nil { user = try Self.prompt("Username: ", echo: true) }
        if secret == nil { secret = try Self.prompt("Password: ", echo: false) }
        guard let user, !user.isEmpty else { throw CLIError.message("Error: Non-null Username Required", code: 1) }
        guard let secret, !secret.isEmpty else { throw CLIError.message("Error: Password Required", code: 1) }
        let answer = try session.client.request("POST", "/auth", body: .object([
            "username": .string(user), "password": .string(secret), "serveraddress": .string(DockerConfigFile.serverKey(host)),
        ])).json
        config.setCredentials(user, secret, for: host)
        try config.save()
        print(answer["Status"]?.string ?? "Login Succeeded")
    }

    /// `https://host/v1/` or `host` → `host` (docker.io's URL stays docker's key).
    static func host(_ server: String) -> String {
        if DockerConfigFile.serverKey(server) == DockerConfigFile.defaultRegistry { return DockerConfigFile.defaultRegistry }
        var host = server
        for scheme in ["https://", "http://"] where host.hasPrefix(scheme) { host.removeFirst(scheme.count) }
        return host.split(separator: "/").first.map(String.init) ?? host
    }

    /// Asks on the terminal; without one there is nobody to ask.
    static func prompt(_ text: String, echo: Bool) throws -> String {
        guard isatty(0) == 1 else {
            throw CLIError.message("Error: Cannot perform an interactive login from a non TTY device", code: 1)
        }
        FileHandle.standardOutput.write(Data(text.utf8))
        var saved = termios()
        tcgetattr(0, &saved)
        if !echo {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSANOW, &quiet)
        }
        defer {
            if !echo {
                tcsetattr(0, TCSANOW, &saved)
                print("")
            }
        }
        return readLine(strippingNewline: true) ?? ""
    }
}

struct Logout: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Log out from a registry")
    @Argument var server: String?

    func run() throws {
        let host = Login.host(server ?? DockerConfigFile.defaultRegistry)
        var config = try DockerConfigFile.load(directory: session.configDirectory)
        guard config.removeCredentials(for: host) else {
            print("Not logged in to \(DockerConfigFile.serverKey(host))")
            return
        }
        try config.save()
        print("Removing login credentials for \(DockerConfigFile.serverKey(host))")
    }
}
