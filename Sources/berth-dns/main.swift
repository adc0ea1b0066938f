import BerthNetwork
import BerthSystem
import CBerthSystem
import Glibc
import Synchronization

// berth-dns: the embedded DNS of berthd's user-defined networks, in a process of its own so that
// containers keep resolving names while berthd is down (a crash, an upgrade). berthd starts it
// (`berth-dns --socket PATH`) in a session of its own and waits for "OK" on descriptor 3, written
// once it listens (no fork here: a fork of a process with Swift's runtime up is not safe); berthd
// sends it the containers' names and sockets over PATH (SOCK_SEQPACKET, one JSON
// message per packet, see NameServerMessage). It ends once no berthd is connected and no
// container it serves is left (each container's exit is watched through a pidfd).

/// A failure before readiness: said on descriptor 3 (berthd's readiness pipe) and stderr.
func fail(_ message: String) -> Never {
    for (fd, text) in [(Int32(3), "ERR \(message)\n"), (2, "berth-dns: \(message)\n")] {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
    exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 2, arguments[0] == "--socket" else { fail("usage: berth-dns --socket PATH") }
let path = arguments[1]

let listener: Int32
do { listener = try UnixSocket.listen(path, backlog: 4, seqpacket: true) } catch { fail("listen on \(path): \(error)") }

// Ready: berthd may connect (it waits for this line on descriptor 3). berthd started this
// process in a session of its own, with /dev/null as its standard descriptors: it outlives berthd.
let ready = Array("OK\n".utf8)
_ = ready.withUnsafeBytes { write(3, $0.baseAddress, $0.count) }
close(3)

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
