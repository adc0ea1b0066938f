import BerthAPITypes
import BerthNetwork
import BerthVolumes
import Foundation

/// A container as berthd stores it in `containers/<id>/config.v2.json` and reports it on inspect.
public struct ContainerRecord: Codable, Sendable {
    public var id: String
    /// Without the leading `/`.
    public var name: String
    public var created: String
    public var path: String
    public var args: [String]
    /// `sha256:…` of the image config.
    public var image: String
    public var config: ContainerConfig
    public var hostConfig: HostConfig
    public var state: ContainerRunState
    public var restartCount: Int
    /// Stopped or killed by a user (dockerd's `HasBeenManuallyStopped`): an `unless-stopped`
    /// container stays down at the daemon's next start. Cleared by a start.
    public var manuallyStopped: Bool?
    public var logPath: String
    public var hostnamePath: String
    public var hostsPath: String
    public var resolvConfPath: String
    public var execIDs: [String]
    /// The runtime binary the container was started with (`berth-runtime`, `runc`, `crun`).
    public var runtime: String
    /// Where the running container is on each of its networks, by network name (empty when
    /// stopped, or on none/host).
    public var endpoints: [String: NetworkEndpoint] {
        get { storedEndpoints ?? endpoint.map { [networkMode: $0] } ?? [:] }
        set {
            storedEndpoints = newValue
            endpoint = nil
        }
    }
    private var storedEndpoints: [String: NetworkEndpoint]?
    /// The one endpoint of records written before containers had several networks.
    private var endpoint: NetworkEndpoint?
    /// The networks the container is on, by name, with what was asked of each (aliases, a
    /// static address, a MAC address, links, gateway priority): set at create, changed by
    /// `network connect` and `disconnect`.
    public var networkingConfig: NetworkingConfig?
    /// Its volumes (named and anonymous), resolved at create.
    public var volumeMounts: [VolumeMount]?

    /// The networks the container connects to at its start: the one of its network mode first,
    /// then the others by name (dockerd's interface order).
    public var networkNames: [String] {
        guard connectsToNetwork else { return [] }
        guard let configured = networkingConfig?.endpointsConfig, !configured.isEmpty else { return [networkMode] }
        func primary(_ name: String) -> Bool {
            name == networkMode || (configured[name]?.networkID).map { !networkMode.isEmpty && $0.hasPrefix(networkMode) } ?? false
        }
        return configured.keys.sorted { (primary($0) ? 0 : 1, $0) < (primary($1) ? 0 : 1, $1) }
    }

    /// What was asked of the container's endpoint on `network`.
    public func endpointSettings(_ network: String) -> EndpointSettings? { networkingConfig?.endpointsConfig?[network] }

    /// Where the embedded DNS forwards the container's other names (`--dns`; the daemon's
    /// resolvers when empty).
    public var dnsUpstreams: [IPv4Address] { (hostConfig.dns ?? []).compactMap(IPv4Address.init) }

    /// Every port the container publishes, on whichever network.
    public var publishedPorts: [PortMapping] { endpoints.values.flatMap { $0.ports ?? [] } }

    public init(id: String, name: String, created: String, path: String, args: [String], image: String,
                config: ContainerConfig, hostConfig: HostConfig, runtime: String, directory: String) {
        self.id = id
        self.name = name
        self.created = created
        self.path = path
        self.args = args
        self.image = image
        self.config = config
        self.hostConfig = hostConfig
        self.runtime = runtime
        state = ContainerRunState()
        restartCount = 0
        logPath = "\(directory)/\(id)-json.log"
        hostnamePath = "\(directory)/hostname"
        hostsPath = "\(directory)/hosts"
        resolvConfPath = "\(directory)/resolv.conf"
        execIDs = []
    }

    /// 64 hex digits, the form of container and exec IDs.
    public static func newID() -> String {
        (0..<4).map { _ in
            let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    public var tty: Bool { config.tty ?? false }
    public var labels: [String: String] { config.labels ?? [:] }
    public var imageName: String { config.image ?? image }
    public var autoRemove: Bool { hostConfig.autoRemove ?? false }
    public var networkMode: String { hostConfig.networkMode ?? "default" }
    /// On a network of Berth's (the default bridge, a user-defined bridge, macvlan or ipvlan): it
    /// gets its endpoint between create and start.
    public var connectsToNetwork: Bool { !["host", "none", "default"].contains(networkMode) && !networkMode.hasPrefix("container:") }
    /// On a user-defined network: the embedded DNS knows it and its resolv.conf points there.
    public var onUserNetwork: Bool { networkNames.contains { $0 != "bridge" } }
}

/// `State` of a container, with Docker's field names and status words.
public struct ContainerRunState: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case created, running, paused, restarting, removing, exited, dead }

    public var status: Status = .created
    public var pid: Int32 = 0
    public var exitCode: Int32 = 0
    public var error: String = ""
    public var oomKilled = false
    public var startedAt = ContainerRunState.zeroTime
    public var finishedAt = ContainerRunState.zeroTime
    /// Present while a container with a health check runs (and after, with its last results).
    public var health: HealthState?

    /// Go's zero time, which Docker prints for "never".
    public static let zeroTime = "0001-01-01T00:00:00Z"

    /// Whether a process of the container runs (a restarting container's does not, yet).
    public var running: Bool { status == .running || status == .paused }

    /// The API's `State` object.
    public var model: ContainerState {
        var state = ContainerState()
        state.status = status.rawValue
        // dockerd counts a container waiting to be restarted as running.
        state.running = running || status == .restarting
        state.paused = status == .paused
        state.restarting = status == .restarting
        state.oomKilled = oomKilled
        state.dead = status == .dead
        state.pid = Int64(pid)
        state.exitCode = Int64(exitCode)
        state.error = error
        state.startedAt = startedAt
        state.finishedAt = finishedAt
        state.health = health?.model
        return state
    }
}
