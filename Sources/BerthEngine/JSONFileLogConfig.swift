import Foundation

/// The `json-file` log driver's options (`--log-opt`, daemon.json `log-opts`), checked as
/// dockerd checks them: unknown keys, sizes, counts and `compress` are refused with dockerd's
/// messages, at create rather than at start.
public struct JSONFileLogConfig: Sendable, Equatable {
    /// Bytes before the file rotates; nil: it never does.
    public var maxSize: Int64?
    /// Files kept, the current one included.
    public var maxFiles = 1
    /// Rotated files are gzipped (`FILE.1.gz` …).
    public var compress = false
    /// Container labels and environment variables copied into each line's `attrs`, and `tag`.
    public var labels: [String] = []
    public var labelsRegex: String?
    public var env: [String] = []
    public var envRegex: String?
    public var tag: String?

    static let keys: Set<String> = ["max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag"]
    /// Options every driver takes (dockerd's log mode): accepted, and without effect here.
    static let generalKeys: Set<String> = ["mode", "max-buffer-size"]

    public init() {}

    public init(_ options: [String: String]) throws {
        for key in options.keys.sorted() where !Self.keys.contains(key) && !Self.generalKeys.contains(key) {
            throw EngineError(.badRequest, "unknown log opt '\(key)' for json-file log driver")
        }
        if let text = options["max-size"] {
            guard let size = Self.humanSize(text) else { throw EngineError(.badRequest, "invalid size: '\(text)'") }
            guard size > 0 else { throw EngineError(.badRequest, "max-size must be a positive number") }
            maxSize = size
        }
        if let text = options["max-file"] {
            guard let count = Int(text) else { throw EngineError(.badRequest, "strconv.Atoi: parsing \"\(text)\": invalid syntax") }
            guard count >= 1 else { throw EngineError(.badRequest, "max-file cannot be less than 1") }
            maxFiles = count
        }
        if let text = options["compress"] {
            guard let value = Bool(goParsing: text) else { throw EngineError(.badRequest, "strconv.ParseBool: parsing \"\(text)\": invalid syntax") }
            if value && (maxFiles == 1 || maxSize == nil) {
                throw EngineError(.badRequest, "compress cannot be true when max-file is less than 2 or max-size is not set")
            }
            compress = value
        }
        labels = Self.list(options["labels"])
        env = Self.list(options["env"])
        labelsRegex = options["labels-regex"].flatMap { $0.isEmpty ? nil : $0 }
        envRegex = options["env-regex"].flatMap { $0.isEmpty ? nil : $0 }
        tag = options["tag"].flatMap { $0.isEmpty ? nil : $0 }
        for pattern in [labelsRegex, envRegex].compactMap({ $0 }) where (try? Regex(pattern)) == nil {
            throw EngineError(.badRequest, "error parsing regexp: \(pattern)")
        }
    }

    private static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { String($0) }.filter { !$0.isEmpty }
    }

    /// docker/go-units FromHumanSize: decimal units (`10m` is 10,000,000 bytes), as dockerd
    /// reads `max-size`; an `i` and a `b` after the unit are allowed and change nothing.
    static func humanSize(_ text: String) -> Int64? {
        var rest = Substring(text)
        var number = ""
        while let c = rest.first, c.isASCII, c.isNumber || c == "." {
            number.append(c)
            rest = rest.dropFirst()
        }
        guard let value = Double(number), !number.hasPrefix("."), !number.hasSuffix(".") else { return nil }
        if rest.first == " " { rest = rest.dropFirst() }
        var factor = 1.0
        let units: [Character: Double] = ["k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15]
        if let c = rest.first, let unit = units[Character(c.lowercased())] {
            factor = unit
            rest = rest.dropFirst()
            if rest.first == "i" || rest.first == "I" { rest = rest.dropFirst() }
        }
        if rest.first == "b" || rest.first == "B" { rest = rest.dropFirst() }
        guard rest.isEmpty else { return nil }
        return Int64(value * factor)
    }
}

extension JSONFileLogConfig {
    /// The `attrs` each line of `record`'s log carries (dockerd's ExtraAttributes, plus `tag`).
    func attributes(of record: ContainerRecord) -> [String: String] {
        var attributes: [String: String] = [:]
        let labels = record.labels
        for key in self.labels { if let value = labels[key] { attributes[key] = value } }
        if let pattern = labelsRegex, let regex = try? Regex(pattern) {
            for (key, value) in labels where key.contains(regex) { attributes[key] = value }
        }
        var environment: [String: String] = [:]
        for entry in record.config.env ?? [] {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2 { environment[String(parts[0])] = String(parts[1]) }
        }
        for key in env { if let value = environment[key] { attributes[key] = value } }
        if let pattern = envRegex, let regex = try? Regex(pattern) {
            for (key, value) in environment where key.contains(regex) { attributes[key] = value }
        }
        if let tag { attributes["tag"] = Self.expand(tag: tag, record) }
        return attributes
    }

    /// The log tag's template fields (`{{.ID}}`, `{{.Name}}`, `{{.ImageName}}` …); other text stays as written.
    static func expand(tag: String, _ record: ContainerRecord) -> String {
        let fields = [
            "ID": String(record.id.prefix(12)), "FullID": record.id, "Name": record.name,
            "ImageID": String(record.image.replacingOccurrences(of: "sha256:", with: "").prefix(12)),
            "ImageFullID": record.image, "ImageName": record.imageName, "DaemonName": "docker",
            "Command": ([record.path] + record.args).joined(separator: " "),
        ]
        var result = tag
        for (name, value) in fields {
            for spelling in ["{{.\(name)}}", "{{ .\(name) }}"] { result = result.replacingOccurrences(of: spelling, with: value) }
        }
        return result
    }

    /// The shim's flags for this log.
    func shimArguments(attributes: [String: String]) -> [String] {
        var arguments: [String] = []
        if let maxSize { arguments += ["--log-max-size", String(maxSize)] }
        if maxFiles > 1 { arguments += ["--log-max-file", String(maxFiles)] }
        if compress { arguments.append("--log-compress") }
        if !attributes.isEmpty {
            // Sorted, as Go marshals a map.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let text = try? encoder.encode(attributes) { arguments += ["--log-attrs", String(decoding: text, as: UTF8.self)] }
        }
        return arguments
    }
}

extension ContainerRecord {
    /// The json-file options the container was created with; nil for the `none` driver.
    var jsonFileLog: JSONFileLogConfig? {
        guard (hostConfig.logConfig?.type ?? "json-file") == "json-file" else { return nil }
        let options = hostConfig.logConfig?.config ?? [:]
        return (try? JSONFileLogConfig(options)) ?? JSONFileLogConfig()
    }
}
