import BerthSystem
import Glibc

/// The part of systemd's manager API a runtime needs: a transient scope (or slice) for a
/// container's processes, and stopping it. Spoken over systemd's private socket, as runc does
/// when it runs as root (peer-to-peer D-Bus: no bus daemon, no Hello).
struct SystemdManager {
    /// Where systemd listens for its own clients; `BERTH_SYSTEMD_SOCKET` names another (a test's).
    static var socketPath: String {
        (getenv("BERTH_SYSTEMD_SOCKET").map { String(cString: $0) }).flatMap { $0.isEmpty ? nil : $0 } ?? "/run/systemd/private"
    }

    /// Whether systemd runs here: systemd's own test (`/run/systemd/system`), or a socket given.
    static var available: Bool {
        getenv("BERTH_SYSTEMD_SOCKET") != nil || SmallFile.isDirectory("/run/systemd/system")
    }

    private static let destination = "org.freedesktop.systemd1"
    private static let path = "/org/freedesktop/systemd1"
    private static let manager = "org.freedesktop.systemd1.Manager"
    /// How long systemd may take to run a job (runc waits as long).
    private static let jobTimeout: Int32 = 30_000

    private let fd: Int32
    private var serial: UInt32 = 0
    private var buffer: [UInt8] = []

    init(socket: String = SystemdManager.socketPath) throws {
        do { fd = try UnixSocket.connect(socket) } catch {
            throw RuntimeError.cgroup("cannot reach systemd at \(socket): \(error)")
        }
        do { try authenticate() } catch {
            Glibc.close(fd)
            throw error
        }
    }

    func close() { Glibc.close(fd) }

    /// Starts `unit` with `pid` in it and waits for systemd to finish the job. The unit gets
    /// `Delegate=yes` (the runtime writes its limits itself) and, for a scope, `Slice=slice`.
    mutating func startTransientUnit(_ unit: String, slice: String, pid: pid_t, description: String) throws {
        var properties: [DBusValue] = [
            Self.property("Description", .string(description)),
            Self.property("Delegate", .bool(true)),
            Self.property("DefaultDependencies", .bool(false)),
            Self.property("PIDs", .array(elementType: "u", [.uint32(UInt32(pid))])),
        ]
        if unit.hasSuffix(".scope") { properties.insert(Self.property("Slice", .string(slice)), at: 1) }
        try runJob("StartTransientUnit", [
            .string(unit), .string("replace"), .array(elementType: "(sv)", properties), .array(elementType: "(sa(sv))", []),
        ], unit: unit)
    }

    /// Stops `unit`; one that systemd no longer knows is already gone.
    mutating func stopUnit(_ unit: String) throws {
        do { try runJob("StopUnit", [.string(unit), .string("replace")], unit: unit) } catch let DBusError.remote(name, _)
            where name == "org.freedesktop.systemd1.NoSuchUnit" {}
    }

    private static func property(_ name: String, _ value: DBusValue) -> DBusValue {
        .structure([.string(name), .variant(value)])
    }

    /// Calls a manager method that returns a job, then waits for that job's JobRemoved signal.
    private mutating func runJob(_ member: String, _ arguments: [DBusValue], unit: String) throws {
        _ = try call("Subscribe", [])
        let reply = try call(member, arguments)
        guard let job = reply.body.first?.string else { throw DBusError.protocolError("\(member) returned no job") }
        while true {
            let message = try receive()
            guard message.kind == .signal, message.member == "JobRemoved", message.body.count == 4,
                  message.body[1].string == job else { continue }
            let result = message.body[3].string ?? ""
            guard result == "done" else { throw RuntimeError.cgroup("systemd could not \(member == "StopUnit" ? "stop" : "start") \(unit): job \(result)") }
            return
        }
    }

    @discardableResult
    private mutating func call(_ member: String, _ arguments: [DBusValue]) throws -> DBusMessage {
        serial += 1
        let sent = serial
        try FileDescriptors.writeAll(fd, DBusMessage.call(serial: sent, destination: Self.destination, path: Self.path,
                                                          interface: Self.manager, member: member, arguments).encoded())
        while true {
            let message = try receive()
            guard message.replySerial == sent else { continue }
            if message.kind == .error {
                throw DBusError.remote(name: message.errorName ?? "error", message: message.body.first?.string ?? "")
            }
            return message
        }
    }

    /// The next whole message (signals included), waiting at most `jobTimeout`.
    private mutating func receive() throws -> DBusMessage {
        while true {
            if let length = try DBusMessage.length(of: buffer), buffer.count >= length {
                let message = try DBusMessage(decoding: Array(buffer[..<length]))
                buffer.removeFirst(length)
                return message
            }
            try fill()
        }
    }

    private mutating func fill() throws {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Self.jobTimeout) > 0 else { throw RuntimeError.cgroup("systemd did not answer within \(Self.jobTimeout / 1000) s") }
        let chunk = try FileDescriptors.read(fd)
        guard !chunk.isEmpty else { throw RuntimeError.cgroup("systemd closed the connection") }
        buffer += chunk
    }

    /// SASL EXTERNAL: the kernel vouches for our uid.
    private mutating func authenticate() throws {
        let uid = String(getuid()).utf8.map { String($0, radix: 16) }.joined()
        try FileDescriptors.writeAll(fd, [0] + Array("AUTH EXTERNAL \(uid)\r\n".utf8))
        var line: [UInt8] = []
        while !line.ends(with: [13, 10]) {
            if buffer.isEmpty { try fill() }
            line.append(buffer.removeFirst())
            guard line.count < 512 else { throw DBusError.protocolError("authentication line too long") }
        }
        guard line.starts(with: Array("OK ".utf8)) else {
            throw RuntimeError.cgroup("systemd refused the connection: \(String(decoding: line, as: UTF8.self).trimmed)")
        }
        try FileDescriptors.writeAll(fd, Array("BEGIN\r\n".utf8))
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
