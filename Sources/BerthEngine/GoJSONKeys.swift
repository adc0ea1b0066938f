/// Go's encoding/json matches a JSON key to a struct field without regard to case ("detachKeys"
/// fills `DetachKeys`), and clients rely on it (the Python SDK sends `detachKeys`). Request
/// bodies are rewritten to the fields' own spelling before anything reads them, so one lookup
/// by the canonical name serves every client.
public enum GoJSONKeys {
    /// `object` with each key that matches one of `fields` only by case renamed to that field
    /// (an exact key wins over a differently cased one, as in Go).
    public static func canonical(_ value: JSONValue, _ fields: some Collection<String>) -> JSONValue {
        guard var object = value.object else { return value }
        let byLowercase = Dictionary(fields.map { ($0.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        for key in object.keys.sorted() {
            guard let field = byLowercase[key.lowercased()], field != key, let entry = object[key] else { continue }
            object[key] = nil
            if object[field] == nil { object[field] = entry }
        }
        return .object(object)
    }

    /// A container create body: the config, its HostConfig and their nested objects.
    static func createRequest(_ body: JSONValue) -> JSONValue {
        var body = canonical(body, Array(ConfigValidator.configFields.keys) + ["HostConfig", "NetworkingConfig"])
        if let health = body["Healthcheck"], health.object != nil {
            body["Healthcheck"] = canonical(health, ConfigValidator.healthcheckFields.keys)
        }
        if let host = body["HostConfig"], host.object != nil { body["HostConfig"] = hostConfig(host) }
        return body
    }

    /// HostConfig (and an update body, which has its shape).
    static func hostConfig(_ host: JSONValue) -> JSONValue {
        var host = canonical(host, ConfigValidator.hostConfigFields.keys)
        if let policy = host["RestartPolicy"], policy.object != nil {
            host["RestartPolicy"] = canonical(policy, ConfigValidator.restartPolicyFields.keys)
        }
        if let log = host["LogConfig"], log.object != nil { host["LogConfig"] = canonical(log, ConfigValidator.logConfigFields.keys) }
        if let ulimits = host["Ulimits"]?.array {
            host["Ulimits"] = .array(ulimits.map { canonical($0, ConfigValidator.ulimitFields.keys) })
        }
        return host
    }

    static let execFields = ["AttachStdin", "AttachStdout", "AttachStderr", "ConsoleSize", "DetachKeys", "Tty", "Env", "Cmd",
                             "Privileged", "User", "WorkingDir"]
}
