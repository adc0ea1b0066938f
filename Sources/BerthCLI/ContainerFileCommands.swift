import ArgumentParser
import BerthClient
import BerthArchive
import BerthAPITypes
import BerthSystem
import Foundation
import Glibc

/// `berth cp`: files between a container and the local filesystem, with docker's rules for
/// where the copy lands (into an existing directory, or renamed to a new path).
struct Copy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp", abstract: "Copy files/folders between a container and the local filesystem",
        usage: "berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH")
    @Flag(name: [.short, .long], help: "Archive mode (copy all uid/gid information)") var archive = false
    @Flag(name: [.customShort("L"), .customLong("follow-link")], help: "Always follow symbol link in SRC_PATH") var followLink = false
    @Flag(name: [.short, .long], help: "Suppress progress output during copy") var quiet = false
    @Argument var source: String
    @Argument var destination: String

    /// docker's split: `NAME:PATH` unless the argument is an absolute or `.`-relative local path.
    static func split(_ argument: String) -> (container: String?, path: String) {
        if argument.hasPrefix("/") || argument.hasPrefix(".") { return (nil, argument) }
        guard let colon = argument.firstIndex(of: ":") else { return (nil, argument) }
        return (String(argument[..<colon]), String(argument[argument.index(after: colon)...]))
    }

    func run() throws {
        let from = Self.split(source), to = Self.split(destination)
        switch (from.container, to.container) {
        case (nil, nil): throw CLIError.usage("must specify at least one container source")
        case (.some, .some): throw CLIError.usage("copying between containers is not supported")
        case let (container?, nil): try copyOut(container, from.path, to: to.path)
        case let (nil, container?): try copyIn(from.path, to: container, to.path)
        }
    }

    /// The `X-Docker-Container-Path-Stat` of a path in the container; nil when it does not exist.
    static func containerStat(_ container: String, _ path: String) throws -> JSONValue? {
        do {
            let head = try session.client.request("HEAD", "/containers/\(container)/archive", query: [("path", path)])
            guard let encoded = head.headers["x-docker-container-path-stat"], let data = Data(base64Encoded: encoded) else { return .null }
            return try JSONValue(parsing: data)
        } catch let EngineClient.Failure.api(status, _) where status == 404 {
            return nil
        }
    }

    /// Go's `os.ModeDir` and `os.ModeSymlink` bits in a path stat's mode.
    static func isDirectory(_ stat: JSONValue?) -> Bool { ((stat?["mode"]?.int ?? 0) & (1 << 31)) != 0 }
    static func isSymlink(_ stat: JSONValue?) -> Bool { ((stat?["mode"]?.int ?? 0) & (1 << 27)) != 0 }

    private func copyOut(_ container: String, _ path: String, to destination: String) throws {
        var path = path
        if followLink, let stat = try Self.containerStat(container, path), Self.isSymlink(stat), let target = stat["linkTarget"]?.string, !target.isEmpty {
            path = target
        }
        let tar = try session.client.request("GET", "/containers/\(container)/archive", query: [("path", path)]).body
        if destination == "-" {
            try FileDescriptors.writeAll(1, tar)
            return
        }
        let contentsOnly = path.hasSuffix("/.")
        let name = ((path.hasSuffix("/") || contentsOnly ? String(path.dropLast(contentsOnly ? 2 : 1)) : path) as NSString).lastPathComponent
        var info = Glibc.stat()
        let exists = stat(destination, &info) == 0
        let destinationIsDirectory = exists && (info.st_mode & S_IFMT) == S_IFDIR
        if !exists && destination.hasSuffix("/") {
            throw CLIError.message("Error response from daemon: destination directory \(destination) does not exist", code: 1)
        }
        // Extract next to the destination, then move into place: docker renames the copied
        // top entry to the destination's name when the destination does not exist yet.
        let parent = destinationIsDirectory ? destination : (destination as NSString).deletingLastPathComponent
        let staging = (parent.isEmpty ? "." : parent) + "/.berth-cp-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let tarFile = staging + "/.archive.tar"
        FileManager.default.createFile(atPath: tarFile, contents: Data(tar))
        let unpacked = staging + "/tree"
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: false)
        do { _ = try LayerApplier(mode: .flat).apply(layerPath: tarFile, to: unpacked) } catch {
            throw CLIError.message("Error: extracting the copy of \(path): \(error)", code: 1)
        }
        let copied = unpacked + "/" + name
        var sourceInfo = Glibc.stat()
        lstat(copied, &sourceInfo)
        let sourceIsDirectory = (sourceInfo.st_mode & S_IFMT) == S_IFDIR
        if destinationIsDirectory && !contentsOnly {
            try Self.replace(destination + "/" + name, with: copied)
        } else if destinationIsDirectory {
            for child in try FileManager.default.contentsOfDirectory(atPath: copied) {
                try Self.replace(destination + "/" + child, with: copied + "/" + child)
            }
        } else {
            if exists && sourceIsDirectory { throw CLIError.message("Error: cannot copy a directory to a file: \(destination)", code: 1) }
            try Self.replace(destination, with: copied)
        }
        if !quiet && isatty(2) == 1 {
            FileHandle.standardError.write(Data("Successfully copied \(Human.size(Int64(tar.count))) to \(destination)\n".utf8))
        }
    }

    /// Moves `source` to `target`, replacing a file there; directories are merged as tar does.
    static func replace(_ target: String, with source: String) throws {
        var info = Glibc.stat()
        if lstat(target, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            var sourceInfo = Glibc.stat()
            lstat(source, &sourceInfo)
            if (sourceInfo.st_mode & S_IFMT) == S_IFDIR {
                for child in try FileManager.default.contentsOfDirectory(atPath: source) {
                    try replace(target + "/" + child, with: source + "/" + child)
                }
                return
            }
            try FileManager.default.removeItem(atPath: target)
        }
        guard rename(source, target) == 0 else {
            throw CLIError.message("Error: \(target): \(String(cString: strerror(errno)))", code: 1)
        }
    }

    private func copyIn(_ path: String, to container: String, _ destination: String) throws {
        let tar: [UInt8]
        let target: String
        if path == "-" {
            // A tar on stdin, extracted into the destination directory as it is.
            tar = Array(FileHandle.standardInput.readDataToEndOfFile())
            guard Self.isDirectory(try Self.containerStat(container, destination)) else {
                throw CLIError.message("Error response from daemon: destination \"\(destination)\" must be a directory", code: 1)
            }
            target = destination
        } else {
            var info = Glibc.stat()
            guard lstat(path, &info) == 0 else {
                throw CLIError.message("lstat \(path): \(String(cString: strerror(errno)).lowercased())", code: 1)
            }
            let sourceIsDirectory = (info.st_mode & S_IFMT) == S_IFDIR
            let base = ((path.hasSuffix("/") ? String(path.dropLast()) : path) as NSString).lastPathComponent
            let stat = try Self.containerStat(container, destination)
            let name: String
            if stat != nil && Self.isDirectory(stat) {
                (target, name) = (destination, base)
            } else {
                if stat != nil && sourceIsDirectory {
                    throw CLIError.message("Error response from daemon: cannot copy a directory to a file: \(destination)", code: 1)
                }
                let parent = (destination as NSString).deletingLastPathComponent
                (target, name) = (parent.isEmpty ? "/" : parent, (destination as NSString).lastPathComponent)
            }
            tar = try Self.archive(path, as: name, numericOwner: archive)
        }
        // As the docker CLI asks: no file over a directory; with -a, the container user's owners.
        let query = [("path", target), ("noOverwriteDirNonDir", "true")] + (archive ? [("copyUIDGID", "true")] : [])
        _ = try session.client.request("PUT", "/containers/\(container)/archive", query: query, rawBody: tar)
        if !quiet && isatty(2) == 1 {
            FileHandle.standardError.write(Data("Successfully copied \(Human.size(Int64(tar.count))) to \(container):\(destination)\n".utf8))
        }
    }

    /// A tar of the local `path` whose top entry is called `name`.
    static func archive(_ path: String, as name: String, numericOwner: Bool) throws -> [UInt8] {
        let parent = (path as NSString).deletingLastPathComponent
        let base = ((path.hasSuffix("/") ? String(path.dropLast()) : path) as NSString).lastPathComponent
        var arguments = ["-C", parent.isEmpty ? "." : parent, "-cf", "-"]
        if numericOwner { arguments.append("--numeric-owner") } else { arguments += ["--owner=0", "--group=0"] }
        if name != base {
            // Entries all start with exactly `base`: rename that first component (not link targets).
            arguments.append("--transform=s|^\(Self.regexEscaped(base))|\(Self.replacementEscaped(name))|S")
        }
        arguments += ["--", base]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/tar")
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError.message("Error: archiving \(path): \(message)", code: 1) }
        return Array(data)
    }

    static func regexEscaped(_ text: String) -> String {
        text.reduce(into: "") { result, character in
            if "\\.[]*^$|".contains(character) { result.append("\\") }
            result.append(character)
        }
    }

    static func replacementEscaped(_ text: String) -> String {
        text.reduce(into: "") { result, character in
            if "\\&|".contains(character) { result.append("\\") }
            result.append(character)
        }
    }
}

/// Streams a download to `-o FILE` or to stdout, refusing a terminal as docker does.
func writeDownload(to output: String?, what: String, _ download: (_ onData: ([UInt8]) throws -> Void) throws -> Void) throws {
    guard let output else {
        guard isatty(1) == 0 else {
            throw CLIError.message("cowardly refusing to save to a terminal. Use the -o flag or redirect", code: 1)
        }
        try download { try FileDescriptors.writeAll(1, $0) }
        return
    }
    // Written beside the target and renamed, so a failed download leaves no half file.
    let temporary = output + ".berth-partial"
    guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
        throw CLIError.message("failed to save \(what): open \(output): \(String(cString: strerror(errno)).lowercased())", code: 1)
    }
    do {
        try download { handle.write(Data($0)) }
        try handle.close()
        guard rename(temporary, output) == 0 else { throw CLIError.message("failed to save \(what): \(String(cString: strerror(errno)))", code: 1) }
    } catch {
        try? handle.close()
        unlink(temporary)
        throw error
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export a container's filesystem as a tar archive")
    @Option(name: [.short, .long], help: "Write to a file, instead of STDOUT") var output: String?
    @Argument var container: String

    func run() throws {
        try writeDownload(to: output, what: "container") { onData in
            try session.client.stream("GET", "/containers/\(container)/export", onData: onData)
        }
    }
}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect changes to files or directories on a container's filesystem")
    @Argument var container: String

    func run() throws {
        let changes = try session.client.request("GET", "/containers/\(container)/changes").json.array ?? []
        for change in changes {
            let kind = ["C", "A", "D"][Int(change["Kind"]?.int ?? 0).clamped(to: 0...2)]
            print("\(kind) \(change["Path"]?.string ?? "")")
        }
    }
}

struct Commit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a new image from a container's changes")
    @Option(name: [.short, .long], help: "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")") var author: String?
    @Option(name: [.short, .long], help: "Apply Dockerfile instruction to the created image") var change: [String] = []
    @Option(name: [.short, .long], help: "Commit message") var message: String?
    @Flag(name: [.short, .long], inversion: .prefixedNo, help: "Pause container during commit") var pause = true
    @Argument var container: String
    @Argument var repository: String?

    func run() throws {
        var query = [("container", container), ("pause", pause ? "1" : "0")]
        if let repository { query += try Pull.repositoryQuery(repository) }
        if let author { query.append(("author", author)) }
        if let message { query.append(("comment", message)) }
        for instruction in change { query.append(("changes", instruction)) }
        print(try session.client.request("POST", "/commit", query: query).json["Id"]?.string ?? "")
    }
}

extension Int {
    func clamped(to range: ClosedRange<Int>) -> Int { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}
