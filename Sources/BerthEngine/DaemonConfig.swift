import BerthNetwork
import BerthOCI
import Foundation

/// berthd's configuration: `/etc/berth/daemon.json` with dockerd's key names, overridden by flags.
public struct DaemonConfig: Sendable {
    public struct RuntimeEntry: Codable, Sendable, Equatable {
        public var path: String
        public var runtimeArgs: [String]?
    }

    public var dataRoot = "/var/lib/berth"
    public var execRoot = "/run/berth"
    public var hosts: [String] = []
    public var group: String?
    public var registryMirrors: [String] = []
    public var insecureRegistries: [String] = []
    public var defaultRuntime = "berth-runtime"
    public var runtimes: [String: RuntimeEntry] = [:]
    public var logDriver = "json-file"
    /// Berth's own key: the mode for containers that ask for the default network (`bridge`
    /// unless set; `none` keeps a host's network untouched).
    public var defaultNetwork: String?
    /// dockerd's `bridge`: the default bridge network's Linux bridge.
    public var bridge = "berth0"
    /// dockerd's `bip`: the bridge's address and prefix (its gateway for containers); unset,
    /// the first subnet of the address pools that no route of the host's uses (172.17.0.0/16
    /// on most hosts).
    public var bip: String?
    /// dockerd's `default-address-pools`: where networks without a subnet of their own (and the
    /// default bridge without `bip`) get one.
    public var defaultAddressPools: [AddressPoolSpec] = SubnetChooser.defaultPools
    /// dockerd's `fixed-cidr`: where container addresses on the default bridge come from.
    public var fixedCIDR: String?
    /// dockerd's `mtu` for the default bridge.
    public var mtu: Int?
    /// dockerd's `icc`, `ip-masq` and `ip` for the default bridge: containers reach each other,
    /// outbound traffic is masqueraded, where `-p PORT` publishes without an address.
    public var interContainer = true
    public var ipMasquerade = true
    public var defaultBindingIP: String?
    /// dockerd's `dns`: the resolvers containers use (and the embedded DNS forwards to);
    /// the host's, without loopback ones, when empty.
    public var dns: [String] = []
    public var logOpts: [String: String] = [:]
    public var liveRestore = true
    /// `seccomp-profile`: `builtin` (Berth's default profile), `unconfined`, or a profile file in Docker's format.
    public var seccompProfile = "builtin"
    /// `"init": true`: containers run under berth-init unless they ask otherwise.
    public var initByDefault = false
    public var defaultUlimits: [String: JSONValue] = [:]
    public var maxConcurrentDownloads = 3
    /// Berth's own key `start-timeout`: seconds a start may wait for the runtime to create the
    /// container before berthd gives up and removes what was started.
    public var startTimeout = 120.0
    public var debug = false
    /// dockerd's `log-level`: debug, info, warn, error or fatal (`debug: true` means debug).
    public var logLevel = "info"
    /// `--tls`: TCP listeners use TLS; `--tlsverify` also requires client certificates.
    public var tls = false
    public var tlsVerify = false
    public var tlsCACert: String?
    public var tlsCert: String?
    public var tlsKey: String?
    /// Directory holding berth-shim, berth-runtime and berth-init (default: next to berthd).
    /// `userns-remap` as given (`default`, `USER[:GROUP]`, `UID[:GID]`), and what it resolved to
    /// at start; `dataRoot` is then the remapped store (`DATA/UID.GID`).
    public var usernsRemap: String?
    public var remap: UserNamespaceRemap?
    public var binaryDirectory: String
    /// berth-runtime's read-only bind under the exec root, once berthd has made it (`ProtectedRuntime`).
    public var protectedRuntime: String?

    public init(binaryDirectory: String) {
        self.binaryDirectory = binaryDirectory
    }

    static let knownKeys: Set<String> = [
        "data-root", "exec-root", "hosts", "group", "registry-mirrors", "insecure-registries", "default-runtime", "runtimes",
        "log-driver", "log-opts", "live-restore", "default-ulimits", "max-concurrent-downloads", "debug", "tlsverify",
        "tlscacert", "tlscert", "tlskey", "tls", "storage-driver", "default-network", "init", "seccomp-profile",
        "start-timeout", "log-level", "bridge", "bip", "fixed-cidr", "mtu", "dns", "default-address-pools", "icc", "ip-masq", "ip",
        "userns-remap",
    ]

    /// Lays the keys of a daemon.json over this configuration; unknown keys and wrong types are refused
    /// with the key and the reason, as dockerd does.
    public mutating func apply(fileContents data: Data, path: String) throws {
        let json: JSONValue
        do { json = try JSONValue(parsing: data) } catch {
            throw EngineError(.badRequest, "unable to configure the Berth daemon with file \(path): invalid JSON: \(error)")
        }
        guard let object = json.object else { throw EngineError(.badRequest, "\(path): the configuration must be a JSON object") }
        let unknown = object.keys.filter { !DaemonConfig.knownKeys.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw EngineError(.badRequest, "unable to configure the Berth daemon with file \(path): the following directives don't match any configuration option: \(unknown.joined(separator: ", "))")
        }
        func string(_ key: String) throws -> String? {
            guard let value = object[key] else { return nil }
            guard let text = value.string else { throw EngineError(.badRequest, "\(path): \"\(key)\" must be a string") }
            return text
        }
        func strings(_ key: String) throws -> [String]? {
            guard let value = object[key] else { return nil }
            guard let list = value.array?.compactMap(\.string), list.count == value.array?.count else {
                throw EngineError(.badRequest, "\(path): \"\(key)\" must be a list of strings")
            }
            return list
        }
        func bool(_ key: String) throws -> Bool? {
            guard let value = object[key] else { return nil }
            guard let flag = value.bool else { throw EngineError(.badRequest, "\(path): \"\(key)\" must be true or false") }
            return flag
        }
        if let value = try string("data-root") { dataRoot = value }
        if let value = try string("exec-root") { execRoot = value }
        if let value = try string("userns-remap") { usernsRemap = value.isEmpty ? nil : value }
        if let value = try strings("hosts") { hosts = value }
        if let value = try string("group") { group = value }
        if let value = try strings("registry-mirrors") { registryMirrors = value }
        if let value = try strings("insecure-registries") { insecureRegistries = value }
        if let value = try string("default-runtime") { defaultRuntime = value }
        if let value = try string("log-driver") { logDriver = value }
        if let value = try string("default-network") { defaultNetwork = value }
        if let value = try string("bridge") { bridge = value }
        if let value = try string("bip") { bip = value }
        if let value = try string("fixed-cidr") { fixedCIDR = value }
        if let value = object["default-address-pools"] {
            guard let entries = value.array, !entries.isEmpty else {
                throw EngineError(.badRequest, "\(path): \"default-address-pools\" must be a list of {\"base\": CIDR, \"size\": prefix length}")
            }
            defaultAddressPools = try entries.map { entry in
                guard let text = entry["base"]?.string, let base = IPv4Subnet(text), let size = entry["size"]?.int, size >= base.prefix, size <= 30 else {
                    throw EngineError(.badRequest, "\(path): invalid default-address-pools entry \(entry): an IPv4 \"base\" CIDR and a \"size\" from its prefix length to 30")
                }
                return AddressPoolSpec(base: base, size: Int(size))
            }
        }
        if let value = try strings("dns") {
            for server in value where IPv4Address(server) == nil {
                throw EngineError(.badRequest, "\(path): \"dns\": \(server) is not an IPv4 address")
            }
            dns = value
        }
        if let value = object["mtu"] {
            guard let size = value.int, (68...65535).contains(size) else { throw EngineError(.badRequest, "\(path): \"mtu\" must be a number from 68 to 65535") }
            mtu = Int(size)
        }
        if let value = try bool("live-restore") { liveRestore = value }
        if let value = try bool("icc") { interContainer = value }
        if let value = try bool("ip-masq") { ipMasquerade = value }
        if let value = try string("ip") {
            guard IPv4Address(value) != nil else { throw EngineError(.badRequest, "\(path): \"ip\" must be an IPv4 address of the host") }
            defaultBindingIP = value
        }
        if let value = try bool("debug") { debug = value }
        if let value = try string("log-level") {
            guard EngineLog.level(value) != nil else {
                throw EngineError(.badRequest, "unable to configure the Berth daemon with file \(path): invalid log-level \"\(value)\": use debug, info, warn, error or fatal")
            }
            logLevel = value
        }
        if let value = try bool("init") { initByDefault = value }
        if let value = try string("seccomp-profile") { seccompProfile = value }
        if let value = try bool("tlsverify") { tlsVerify = value }
        if let value = try bool("tls") { tls = value }
        if let value = try string("tlscacert") { tlsCACert = value }
        if let value = try string("tlscert") { tlsCert = value }
        if let value = try string("tlskey") { tlsKey = value }
        if let value = object["log-opts"] {
            guard let options = value.object, options.values.allSatisfy({ $0.string != nil }) else {
                throw EngineError(.badRequest, "\(path): \"log-opts\" must map names to strings")
            }
            logOpts = options.compactMapValues(\.string)
        }
        if let value = object["runtimes"] {
            do { runtimes = try value.decode([String: RuntimeEntry].self) } catch {
                throw EngineError(.badRequest, "\(path): \"runtimes\" must map names to {\"path\": …}")
            }
        }
        if let value = object["default-ulimits"] { defaultUlimits = value.object ?? [:] }
        if let value = object["max-concurrent-downloads"] {
            guard let count = value.int, count > 0 else { throw EngineError(.badRequest, "\(path): \"max-concurrent-downloads\" must be a positive number") }
            maxConcurrentDownloads = Int(count)
        }
        if let value = object["start-timeout"] {
            guard let seconds = value.int, (1...86_400).contains(seconds) else {
                throw EngineError(.badRequest, "\(path): \"start-timeout\" must be a number of seconds from 1 to 86400")
            }
            startTimeout = Double(seconds)
        }
        if let value = try string("storage-driver"), !["overlay2", "overlay", "vfs", "copy"].contains(value) {
            throw EngineError(.badRequest, "\(path): storage-driver \(value) is not supported (overlay2 or vfs)")
        }
        try validate()
    }

    /// Checks values that flags may also have set.
    public func validate() throws {
        for host in hosts {
            guard host.hasPrefix("unix://") || host.hasPrefix("tcp://") else {
                throw EngineError(.badRequest, "invalid host \(host): use unix:///path or tcp://host:port")
            }
        }
        guard ["json-file", "none"].contains(logDriver) else {
            throw EngineError(.badRequest, "log-driver \(logDriver) is not supported: use json-file or none")
        }
        if logDriver == "json-file" {
            do { _ = try JSONFileLogConfig(logOpts) } catch let error as EngineError {
                throw EngineError(.badRequest, "log-opts: \(error.message)")
            }
        }
        _ = try runtimePath(defaultRuntime)
        _ = try defaultSeccompProfile()
        if let mode = defaultNetwork, !["none", "host", "bridge"].contains(mode) {
            throw EngineError(.badRequest, "default-network must be bridge, none or host, not \(mode)")
        }
        _ = try bridgeSettings()
    }

    /// Where the embedded DNS sends the names it does not know: `dns`, else the host's
    /// resolvers (a loopback one would be the container's own loopback inside it).
    public func upstreamResolvers() -> [IPv4Address] {
        if !dns.isEmpty { return dns.compactMap(IPv4Address.init) }
        let text = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line -> IPv4Address? in
            let words = line.split(whereSeparator: \.isWhitespace)
            guard words.count >= 2, words[0] == "nameserver", let address = IPv4Address(String(words[1])), address.value >> 24 != 127 else { return nil }
            return address
        }
    }

    /// The default bridge network's settings from `bridge`, `bip`, `fixed-cidr` and `mtu`;
    /// without `bip`, the bridge gets the first address of `unsetSubnet()`.
    public func bridgeSettings(unsetSubnet: () throws -> IPv4Subnet = { IPv4Subnet("172.17.0.0/16")! }) throws -> BridgeSettings {
        guard (1...15).contains(bridge.utf8.count), bridge.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw EngineError(.badRequest, "invalid bridge name \(bridge): 1 to 15 letters, digits, '-', '_' or '.'")
        }
        let subnet: IPv4Subnet, gateway: IPv4Address
        if let bip {
            let parts = bip.split(separator: "/")
            guard parts.count == 2, let address = IPv4Address(String(parts[0])), let parsed = IPv4Subnet(bip), parsed.prefix <= 30,
                  address != parsed.network, address != parsed.broadcast else {
                throw EngineError(.badRequest, "invalid bip \(bip): an IPv4 address with a prefix length, such as 172.17.0.1/16")
            }
            (subnet, gateway) = (parsed, address)
        } else {
            subnet = try unsetSubnet()
            gateway = IPv4Address(subnet.network.value + 1)
        }
        var range: IPv4Subnet?
        if let fixedCIDR {
            guard let parsed = IPv4Subnet(fixedCIDR), subnet.contains(parsed.network), parsed.prefix >= subnet.prefix else {
                throw EngineError(.badRequest, "invalid fixed-cidr \(fixedCIDR): a subnet inside the bridge's \(subnet)")
            }
            range = parsed
        }
        var settings = BridgeSettings(bridge: bridge, subnet: subnet, gateway: gateway, range: range, mtu: mtu)
        settings.interContainer = interContainer
        settings.masquerade = ipMasquerade
        settings.hostBinding = defaultBindingIP.flatMap(IPv4Address.init)
        return settings
    }

    /// The profile containers get unless they ask otherwise; `nil` for `unconfined`.
    public func defaultSeccompProfile() throws -> DockerSeccompProfile? {
        switch seccompProfile {
        case "", "builtin", "default": return DefaultSeccompProfile.profile
        case "unconfined": return nil
        default:
            guard let data = FileManager.default.contents(atPath: seccompProfile) else {
                throw EngineError(.badRequest, "seccomp-profile \(seccompProfile): no such file")
            }
            do { return try JSONDecoder().decode(DockerSeccompProfile.self, from: data) } catch {
                throw EngineError(.badRequest, "seccomp-profile \(seccompProfile) is not a seccomp profile: \(error)")
            }
        }
    }

    /// The binary for a runtime name: a configured entry, one of the built-in names, or an absolute path.
    public func runtimePath(_ name: String) throws -> String {
        if let entry = runtimes[name] { return entry.path }
        switch name {
        case "berth-runtime", "berth": return protectedRuntime ?? binaryDirectory + "/berth-runtime"
        case "runc", "crun":
            for directory in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") { return "\(directory)/\(name)" }
            throw EngineError(.badRequest, "unknown or invalid runtime name: \(name) (not installed)")
        default:
            if name.hasPrefix("/") { return name }
            throw EngineError(.badRequest, "unknown or invalid runtime name: \(name)")
        }
    }

    public var runtimeNames: [String] { (["berth-runtime", "runc", "crun"] + runtimes.keys).sorted() }

}
