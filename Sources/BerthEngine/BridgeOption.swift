import BerthNetwork

/// The `com.docker.network.*` options of a bridge network Berth honours (`-o KEY=VALUE`), as
/// dockerd reads them; any other is refused by name.
enum BridgeOption {
    static let mtu = "com.docker.network.driver.mtu"
    static let masquerade = "com.docker.network.bridge.enable_ip_masquerade"
    static let interContainer = "com.docker.network.bridge.enable_icc"
    static let hostBinding = "com.docker.network.bridge.host_binding_ipv4"

    /// Refuses unknown options and malformed values (the bridge name is taken out before).
    static func check(_ options: [String: String]) throws {
        for (key, value) in options.sorted(by: { $0.key < $1.key }) {
            switch key {
            case mtu:
                guard let size = Int(value), (68...65535).contains(size) else { throw EngineError(.badRequest, "invalid MTU \(value) (\(key)): 68 to 65535") }
            case masquerade, interContainer:
                guard Bool(goParsing: value) != nil else { throw EngineError(.badRequest, "invalid value \(value) for \(key): true or false") }
            case hostBinding:
                guard IPv4Address(value) != nil else { throw EngineError(.badRequest, "invalid value \(value) for \(key): an IPv4 address of the host") }
            default:
                throw EngineError(.badRequest, "network option \(key) is not supported by Berth yet")
            }
        }
    }
}
