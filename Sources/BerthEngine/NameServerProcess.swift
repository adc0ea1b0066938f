import BerthNetwork
import Foundation

/// The daemon's `berth-dns`: the one a previous berthd left running (the sockets of the
/// containers that outlived it are there), or a new one started now.
enum NameServerProcess {
    static func connect(_ config: DaemonConfig) throws -> NameServerClient {
        let path = config.execRoot + "/dns.sock"
        let upstreams = config.upstreamResolvers()
        if let client = try? NameServerClient(path: path, upstreams: upstreams) { return client }
        let binary = config.binaryDirectory + "/berth-dns"
        let started = Subprocess.runBlocking([binary, "--socket", path], timeout: 10)
        guard started.status == 0, started.output.hasPrefix("OK") else {
            throw EngineError(.internalError, "start the embedded DNS (\(binary)): \(started.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return try NameServerClient(path: path, upstreams: upstreams)
    }
}
