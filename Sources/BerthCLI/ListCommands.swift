import ArgumentParser
import BerthClient
import BerthAPITypes
import Foundation

struct PS: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers")
    @Flag(name: [.short, .long], help: "Show all containers (default shows just running)") var all = false
    @Flag(name: [.short, .long], help: "Only display container IDs") var quiet = false
    @Flag(name: [.short, .long], help: "Display total file sizes") var size = false
    @Option(name: [.customShort("n"), .customLong("last")], help: "Show n last created containers (includes all states)") var last: Int = -1
    @Flag(name: [.short, .long], help: "Show the latest created container (includes all states)") var latest = false
    @Option(name: [.short, .long], help: "Filter output based on conditions provided") var filter: [String] = []
    @Option(help: "Format output using a custom template") var format: String?
    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output") var noTrunc = false

    static let headers = ["ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
                          "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
                          "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS"]

    func run() throws {
        let limit = latest ? 1 : last
        var query = [("all", all || limit > 0 ? "1" : "0"), ("size", size ? "1" : "0")]
        if limit > 0 { query.append(("limit", String(limit))) }
        query += try filtersQuery(filter)
        let containers = try session.client.listContainers(query: query)
        if quiet {
            for container in containers { print(noTrunc ? container.id ?? "" : Human.shortID(container.id ?? "")) }
            return
        }
        let defaultFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}" + (size ? "\t{{.Size}}" : "")
        let output = try OutputFormat(format ?? defaultFormat, headers: Self.headers)
        print(try output.render(containers.map(row)), terminator: "")
    }

    /// The fields docker's formatter offers for a container.
    func row(_ container: ContainerSummary) -> JSONValue {
        let id = container.id ?? ""
        var command = container.command ?? ""
        if !noTrunc, command.count > 20 { command = String(command.prefix(19)) + "…" }
        let created = container.created ?? 0
        let names = (container.names ?? []).map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
        let labels = container.labels ?? [:]
        var sizeText = ""
        if let rw = container.sizeRw {
            sizeText = Human.size(rw) + " (virtual \(Human.size(container.sizeRootFs ?? 0)))"
        }
        return .object([
            "ID": .string(noTrunc ? id : Human.shortID(id)), "Image": .string(container.image ?? ""),
            "Command": .string(Evaluator.json(.string(command))), "CreatedAt": .string(Self.createdAt(created)),
            "RunningFor": .string(Human.ago(created)), "Ports": .string(PortSpec.display(container.ports ?? [])), "State": .string(container.state ?? ""),
            "Status": .string(container.status ?? ""), "Size": .string(sizeText), "Names": .string(names.joined(separator: ",")),
            "Labels": .string(labels.keys.sorted().map { "\($0)=\(labels[$0]!)" }.joined(separator: ",")),
            "Mounts": .string(""), "Networks": .string((container.networkSettings?.networks ?? [:]).keys.sorted().joined(separator: ",")),
        ])
    }

    /// Go's `time.Time.String()` in UTC: `2026-11-22 10:00:00 +0000 UTC`.
    static func createdAt(_ seconds: Int64) -> String {
        let text = Date(timeIntervalSince1970: Double(seconds)).rfc3339Nano
        return text.prefix(10) + " " + text.dropFirst(11).prefix(8) + " +0000 UTC"
    }
}

struct Images: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List images")
    @Flag(name: [.short, .long], help: "Show all images (default hides intermediate images)") var all = false
    @Flag(name: [.short, .long], help: "Only show image IDs") var quiet = false
    @Flag(help: "Show digests") var digests = false
    @Option(name: [.short, .long], help: "Filter output based on conditions provided") var filter: [String] = []
    @Option(help: "Format output using a custom template") var format: String?
    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output") var noTrunc = false
    @Argument var repository: String?

    static let headers = ["Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "Digest": "DIGEST",
                          "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS"]

    func run() throws {
        var filters = filter
        if let repository { filters.append("reference=\(repository)") }
        let images = try session.client.listImages(query: [("all", all ? "1" : "0")] + filtersQuery(filters))
        var rows: [JSONValue] = []
        for image in images {
            let id = image.id ?? ""
            let shown = noTrunc ? id : Human.shortID(id)
            let created = image.created ?? 0
            let digest = (image.repoDigests?.first).flatMap { $0.split(separator: "@").last.map(String.init) } ?? "<none>"
            var tags = image.repoTags ?? []
            if tags.isEmpty { tags = ["<none>:<none>"] }
            for tag in tags {
                let colon = tag.lastIndex(of: ":")
                let repo = colon.map { String(tag[..<$0]) } ?? tag
                let name = colon.map { String(tag[tag.index(after: $0)...]) } ?? "<none>"
                rows.append(.object([
                    "Repository": .string(repo), "Tag": .string(name), "ID": .string(shown), "Digest": .string(digest),
                    "CreatedSince": .string(Human.ago(created)), "CreatedAt": .string(PS.createdAt(created)),
                    "Size": .string(Human.size(image.size ?? 0)), "Containers": .string("N/A"),
                ]))
            }
        }
        if quiet {
            for row in rows { print(row["ID"]?.string ?? "") }
            return
        }
        let defaultFormat = "table {{.Repository}}\t{{.Tag}}" + (digests ? "\t{{.Digest}}" : "") + "\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
        print(try OutputFormat(format ?? defaultFormat, headers: Self.headers).render(rows), terminator: "")
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Return low-level information on Docker objects")
    @Option(name: [.short, .long], help: "Format output using a custom template") var format: String?
    @Option(help: "Only inspect objects of the given type (container, image, network, volume)") var type: String?
    @Flag(name: [.short, .long], help: "Display total file sizes if the type is container") var size = false
    @Argument var names: [String]

    func run() throws {
        var found: [JSONValue] = []
        var failed = false
        for name in names {
            if let object = try lookup(name) { found.append(object) } else {
                FileHandle.standardError.write(Data("Error: No such object: \(name)\n".utf8))
                failed = true
            }
        }
        if let format {
            let template: GoTemplate
            do { template = try GoTemplate(format) } catch { throw CLIError.message("\(error)", code: 1) }
            for object in found {
                do { print(try template.render(object)) } catch { throw CLIError.message("\(error)", code: 1) }
            }
        } else {
            print(PrettyJSON.render(.array(found)))
        }
        if failed { throw CLIError.exitCode(1) }
    }

    /// `image inspect`, `container inspect`: the same with the type fixed.
    func run(only kind: String) throws {
        var typed = self
        typed.type = kind
        try typed.run()
    }

    private func lookup(_ name: String) throws -> JSONValue? {
        let kinds = type.map { [$0] } ?? ["container", "image", "network", "volume"]
        for kind in kinds {
            let paths = ["container": "/containers/\(name)/json", "network": "/networks/\(name)", "volume": "/volumes/\(name)"]
            let path = paths[kind] ?? "/images/\(name)/json"
            do {
                return try session.client.request("GET", path, query: kind == "container" && size ? [("size", "1")] : []).json
            } catch let EngineClient.Failure.api(status, _) where status == 404 {
                continue
            }
        }
        return nil
    }
}

/// `json.MarshalIndent(v, "", "    ")` as docker inspect prints it (keys sorted).
enum PrettyJSON {
    static func render(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "    "
        switch value {
        case let .array(items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { inner + render($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case let .object(object):
            if object.isEmpty { return "{}" }
            return "{\n" + object.keys.sorted().map { inner + Evaluator.json(.string($0)) + ": " + render(object[$0]!, indent: inner) }
                .joined(separator: ",\n") + "\n" + indent + "}"
        default:
            return Evaluator.json(value)
        }
    }
}
