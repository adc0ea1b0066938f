/// The contents of a container's `/etc/hosts` and `/etc/resolv.conf`, as dockerd writes them
/// for `--add-host`, `--dns`, `--dns-search` and `--dns-option`.
enum EtcFiles {
    /// `base` with a line per `--add-host` entry (`name:ip`, or `name=ip`; an IPv6 address keeps
    /// its colons: `name:::1`).
    /// `hostGateway` is what `host-gateway` stands for (the default bridge's address, as dockerd's
    /// `host-gateway-ip` defaults to).
    static func hosts(_ base: String, extraHosts: [String], hostGateway: String? = nil) throws -> String {
        var text = base
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        for entry in extraHosts {
            let separator = entry.firstIndex(where: { $0 == ":" || $0 == "=" })
            guard let separator else { throw EngineError(.badRequest, "invalid argument \"\(entry)\" for \"--add-host\" flag: bad format for add-host: \"\(entry)\"") }
            let name = entry[..<separator], address = entry[entry.index(after: separator)...]
            guard !name.isEmpty, !address.isEmpty else {
                throw EngineError(.badRequest, "invalid argument \"\(entry)\" for \"--add-host\" flag: bad format for add-host: \"\(entry)\"")
            }
            if address == "host-gateway" {
                guard let hostGateway else { throw EngineError(.badRequest, "--add-host \(entry): unable to derive the IP value for host-gateway") }
                text += "\(hostGateway)\t\(name)\n"
                continue
            }
            text += "\(address)\t\(name)\n"
        }
        return text
    }

    /// The host's resolv.conf with its `nameserver`, `search` and `options` lines replaced by
    /// those given (each kind only when given).
    static func resolvConf(_ host: String, dns: [String], search: [String], options: [String]) -> String {
        guard !dns.isEmpty || !search.isEmpty || !options.isEmpty else { return host }
        var lines = host.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        func replace(_ keyword: String, with values: [String]) {
            guard !values.isEmpty else { return }
            lines.removeAll { $0.split(whereSeparator: \.isWhitespace).first.map(String.init) == keyword }
            // A search of "." means no search domains (dockerd's convention).
            if keyword == "search" && values == ["."] { return }
            lines += keyword == "nameserver" ? values.map { "nameserver \($0)" } : [keyword + " " + values.joined(separator: " ")]
        }
        replace("nameserver", with: dns)
        replace("search", with: search)
        replace("options", with: options)
        return lines.joined(separator: "\n") + "\n"
    }
}
