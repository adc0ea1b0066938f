import BerthNetwork
import BerthSystem
import CBerthSystem
import Glibc
import Synchronization

// berth-dns: the embedded DNS of berthd's user-defined networks, in a process of its own so that
// containers keep resolving names while berthd is down (a crash, an upgrade). berthd starts it
// (`berth-dns --socket PATH`), which answers "OK" once it listens and goes on in a session of its
// own; berthd sends it the containers' names and sockets over PATH (SOCK_SEQPACKET, one JSON
// message per packet, see NameServerMessage). It ends once no berthd is connected and no
// container it serves is left (each container's exit is watched through a pidfd).

func fail(_ message: String) -> Never {
    let bytes = Array("berth-dns: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 2, arguments[0] == "--socket" else { fail("usage: berth-dns --socket PATH") }
let path = arguments[1]

let listener: Int32
do { listener = try UnixSocket.listen(path, backlog: 4, seqpacket: true) } catch { fail("listen on \(path): \(error)") }

// Ready: berthd may connect. The rest runs on in a new session, outliving berthd.
let child = berth_fork()
if child < 0 { fail("fork: \(String(cString: strerror(errno)))") }
if child > 0 {
    print("OK")
    exit(0)
}
setsid()
_ = chdir("/")
let null = open("/dev/null", O_RDWR)
for fd: Int32 in 0...2 { dup2(null, fd) }
if null > 2 { close(null) }

/// Whether berthd is connected: without it, the last container's exit ends berth-dns.
let connected = Atomic<Bool>(false)

@Sendable func finish() -> Never {
    unlink(path)
    exit(0)
}

let dns: EmbeddedDNS
do {
    dns = try EmbeddedDNS(upstreams: []) {
        if !connected.load(ordering: .sequentiallyConsistent) { finish() }
    }
} catch {
    fail("start: \(error)")
}

while true {
    guard let connection = UnixSocket.accept(listener) else { continue }
    connected.store(true, ordering: .sequentiallyConsistent)
    while true {
        guard let (bytes, descriptor) = try? FileDescriptors.receiveMessage(over: connection), !bytes.isEmpty else { break }
        guard let message = try? NameServerMessage(bytes: bytes) else {
            if let descriptor { close(descriptor) }
            continue
        }
        if let answer = message.apply(to: dns, descriptor: descriptor) {
            let reply = answer.bytes
            _ = reply.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }
    close(connection)
    connected.store(false, ordering: .sequentiallyConsistent)
    if dns.served.isEmpty { finish() }
}
