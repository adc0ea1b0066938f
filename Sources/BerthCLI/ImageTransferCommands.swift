import ArgumentParser
import BerthClient
import BerthAPITypes
import BerthOCI
import Foundation
import Glibc

struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Upload an image to a registry")
    @Flag(name: [.short, .customLong("all-tags")], help: "Push all tags of an image to the repository") var allTags = false
    @Flag(name: [.short, .long], help: "Suppress verbose output") var quiet = false
    @Argument var image: String

    func run() throws {
        let reference = try Pull.parse(image)
        let config = try DockerConfigFile.load(directory: session.configDirectory)
        var query: [(String, String)] = []
        if !allTags { query.append(("tag", reference.tag ?? "latest")) }
        try ProgressStream.run(quiet: quiet, to: 1) { onLine in
            try session.client.streamJSONLines("POST", "/images/\(reference.familiarRepository)/push", query: query,
                                               headers: [config.registryAuthHeader(for: reference.domain)], onLine: onLine)
        }
        if quiet { print(reference.familiar) }
    }
}

struct Save: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Save one or more images to a tar archive (streamed to STDOUT by default)")
    @Option(name: [.short, .long], help: "Write to a file, instead of STDOUT") var output: String?
    @Argument var images: [String]

    func run() throws {
        guard !images.isEmpty else { throw CLIError.usage("\"berth save\" requires at least 1 argument.") }
        try writeDownload(to: output, what: "image") { onData in
            try session.client.stream("GET", "/images/get", query: images.map { ("names", $0) }, onData: onData)
        }
    }
}

/// The descriptor an archive is read from: `-i FILE`, or stdin (refusing a terminal, which
/// holds no archive). The caller closes a file it opened (not stdin).
func openArchive(_ input: String?, command: String) throws -> Int32 {
    if let input {
        let fd = open(input, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CLIError.message("open \(input): \(String(cString: strerror(errno)).lowercased())", code: 1)
        }
        return fd
    }
    guard isatty(0) == 0 else {
        throw CLIError.message("requested \(command) from stdin, but stdin is empty", code: 1)
    }
    return 0
}

struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load an image from a tar archive or STDIN")
    @Option(name: [.short, .long], help: "Read from tar archive file, instead of STDIN") var input: String?
    @Flag(name: [.short, .long], help: "Suppress the load output") var quiet = false

    func run() throws {
        let archive = try openArchive(input, command: "load")
        defer { if archive != 0 { close(archive) } }
        // As docker: progress only when someone watches it.
        let quiet = self.quiet || isatty(1) == 0
        try ProgressStream.run(quiet: quiet, to: 1) { onLine in
            try session.client.streamJSONLines("POST", "/images/load", query: [("quiet", quiet ? "1" : "0")], upload: archive,
                                               headers: [("Content-Type", "application/x-tar")], onLine: onLine)
        }
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Import the contents from a tarball to create a filesystem image")
    @Option(name: [.short, .long], help: "Apply Dockerfile instruction to the created image") var change: [String] = []
    @Option(name: [.short, .long], help: "Set commit message for imported image") var message: String?
    @Option(help: "Set platform if server is multi-platform capable") var platform: String?
    @Argument var file: String
    @Argument var repository: String?

    func run() throws {
        if file.hasPrefix("http://") || file.hasPrefix("https://") {
            throw CLIError.message("importing from a URL is not supported by berth: download the archive and import the file", code: 1)
        }
        let archive = try openArchive(file == "-" ? nil : file, command: "import")
        defer { if archive != 0 { close(archive) } }
        var query = [("fromSrc", "-")]
        if let repository { query += try Pull.repositoryQuery(repository) }
        if let message { query.append(("message", message)) }
        if let platform { query.append(("platform", platform)) }
        for instruction in change { query.append(("changes", instruction)) }
        var status: String?
        try ProgressStream.run(quiet: true, to: 1) { onLine in
            try session.client.streamJSONLines("POST", "/images/create", query: query, upload: archive) { value, line in
                if let text = value["status"]?.string { status = text }
                try onLine(value, line)
            }
        }
        if let status { print(status) }
    }
}

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the history of an image")
    @Option(help: "Format output using a custom template") var format: String?
    @Option(name: [.customShort("H"), .customLong("human")], help: "Print sizes and dates in human readable format") var human = true
    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output") var noTrunc = false
    @Flag(name: [.short, .long], help: "Only show image IDs") var quiet = false
    @Argument var image: String

    static let headers = ["ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
                          "Size": "SIZE", "Comment": "COMMENT"]

    func run() throws {
        let layers = try session.client.request("GET", "/images/\(image)/history").json.array ?? []
        if quiet {
            for layer in layers { print(id(layer)) }
            return
        }
        let output = try OutputFormat(format ?? "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", headers: Self.headers)
        print(try output.render(layers.map(row)), terminator: "")
    }

    func id(_ layer: JSONValue) -> String {
        let id = layer["Id"]?.string ?? "<missing>"
        return id == "<missing>" || noTrunc ? id : Human.shortID(id)
    }

    func row(_ layer: JSONValue) -> JSONValue {
        let created = layer["Created"]?.int ?? 0
        var createdBy = (layer["CreatedBy"]?.string ?? "").replacingOccurrences(of: "\t", with: " ")
        if !noTrunc, createdBy.count > 45 { createdBy = String(createdBy.prefix(44)) + "…" }
        let size = layer["Size"]?.int ?? 0
        return .object([
            "ID": .string(id(layer)),
            "CreatedSince": .string(human ? Human.ago(created) : Self.rfc3339(created)),
            "CreatedAt": .string(Self.rfc3339(created)),
            "CreatedBy": .string(createdBy), "Size": .string(human ? Human.size(size) : String(size)),
            "Comment": .string(layer["Comment"]?.string ?? ""),
        ])
    }

    /// Go's `time.RFC3339` in UTC: `2026-11-23T10:00:00Z`.
    static func rfc3339(_ seconds: Int64) -> String {
        Date(timeIntervalSince1970: Double(seconds)).rfc3339Nano.prefix(19) + "Z"
    }
}
