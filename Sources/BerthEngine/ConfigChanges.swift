import Foundation

/// `docker commit --change` and `docker import --change`: Dockerfile instructions applied to an
/// image's runtime config (`Cmd`, `Env`, … as in the Engine API's container config).
public enum ConfigChanges {
    static let allowed = ["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"]

    /// Applies each instruction in order to `config`; refuses the ones Docker refuses.
    public static func apply(_ changes: [String], to config: JSONValue) throws -> JSONValue {
        var config = config
        for change in changes {
            let trimmed = change.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let parts = trimmed.split(separator: " ", maxSplits: 1).map(String.init)
            let instruction = parts[0].uppercased()
            let argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            guard allowed.contains(instruction) else {
                throw EngineError(.badRequest, "\(parts[0]) is not a valid change command")
            }
            guard !argument.isEmpty else { throw EngineError(.badRequest, "\(instruction) requires at least one argument") }
            switch instruction {
            case "CMD", "ENTRYPOINT":
                let key = instruction == "CMD" ? "Cmd" : "Entrypoint"
                config[key] = .array(commandForm(argument).map(JSONValue.string))
            case "ENV":
                var env = config["Env"]?.strings ?? []
                for (key, value) in try pairs(argument, instruction: "ENV") {
                    env.removeAll { $0.hasPrefix(key + "=") }
                    env.append("\(key)=\(value)")
                }
                config["Env"] = .array(env.map(JSONValue.string))
            case "LABEL":
                var labels = config["Labels"]?.object ?? [:]
                for (key, value) in try pairs(argument, instruction: "LABEL") { labels[key] = .string(value) }
                config["Labels"] = .object(labels)
            case "EXPOSE":
                var ports = config["ExposedPorts"]?.object ?? [:]
                for port in words(argument) { ports[port.contains("/") ? port.lowercased() : port + "/tcp"] = .object([:]) }
                config["ExposedPorts"] = .object(ports)
            case "VOLUME":
                var volumes = config["Volumes"]?.object ?? [:]
                for path in jsonArray(argument) ?? words(argument) { volumes[path] = .object([:]) }
                config["Volumes"] = .object(volumes)
            case "ONBUILD":
                config["OnBuild"] = .array((config["OnBuild"]?.array ?? []) + [.string(argument)])
            case "STOPSIGNAL": config["StopSignal"] = .string(argument)
            case "USER": config["User"] = .string(argument)
            default: config["WorkingDir"] = .string(argument)
            }
        }
        return config
    }

    /// Exec form (`["a", "b"]`) as is; shell form through `/bin/sh -c`.
    static func commandForm(_ argument: String) -> [String] {
        jsonArray(argument) ?? ["/bin/sh", "-c", argument]
    }

    static func jsonArray(_ text: String) -> [String]? {
        guard text.hasPrefix("["), let data = text.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode([String].self, from: data)
    }

    /// `k=v k2="v 2"`, or the legacy `k v w` form (one pair: key and the rest).
    static func pairs(_ argument: String, instruction: String) throws -> [(String, String)] {
        let tokens = words(argument)
        if let first = tokens.first, !first.contains("=") {
            let value = argument.dropFirst(first.count).trimmingCharacters(in: .whitespaces)
            guard !value.isEmpty || instruction == "ENV" else {
                throw EngineError(.badRequest, "\(instruction) \(argument): expected key=value")
            }
            return [(first, value)]
        }
        return try tokens.map { token in
            guard let equals = token.firstIndex(of: "="), equals != token.startIndex else {
                throw EngineError(.badRequest, "\(instruction) names can not be blank: \(token)")
            }
            return (String(token[..<equals]), String(token[token.index(after: equals)...]))
        }
    }

    /// Splits on unquoted blanks; quotes group and are removed, `\` escapes the next character.
    static func words(_ text: String) -> [String] {
        var words: [String] = [], current = "", quote: Character?, escaped = false, inWord = false
        for character in text {
            if escaped { current.append(character); escaped = false; continue }
            if character == "\\" && quote != "'" { escaped = true; inWord = true; continue }
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
                continue
            }
            if character == "\"" || character == "'" { quote = character; inWord = true; continue }
            if character == " " || character == "\t" {
                if inWord { words.append(current); current = ""; inWord = false }
                continue
            }
            current.append(character)
            inWord = true
        }
        if inWord { words.append(current) }
        return words
    }
}
