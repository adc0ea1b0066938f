@testable import BerthNetwork
import Foundation
import Glibc
import Testing

/// The embedded DNS's messages and answers, without sockets.
@Suite("embedded DNS")
struct DNSTests {
    /// A standard query for `name` of `type`, with recursion desired.
    static func query(_ name: String, type: UInt16 = DNSQuery.a, id: UInt16 = 0x1234) -> [UInt8] {
        [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] + DNSQuery.encode(name) + [UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
    }

    @Test("a query parses, case-folded; answers carry the ID, the question, A or PTR records, NXDOMAIN")
    func messages() throws {
        let query = try #require(DNSQuery(Self.query("Web.Front.")))
        #expect(query.name == "web.front" && query.type == DNSQuery.a && query.id == 0x1234)
        let answer = query.answer(addresses: [IPv4Address("10.1.0.2")!])
        #expect(Array(answer[0..<4]) == [0x12, 0x34, 0x85, 0x80])
        #expect(Array(answer[6..<8]) == [0, 1])
        #expect(Array(answer.suffix(4)) == [10, 1, 0, 2])
        #expect(query.answer(notFound: true)[3] & 0x0f == 3)
        #expect(DNSQuery(Self.query("2.0.1.10.in-addr.arpa", type: DNSQuery.ptr))?.reverseAddress == IPv4Address("10.1.0.2"))
        // Responses, other opcodes, truncated or compressed questions are not queries.
        var response = Self.query("web"); response[2] |= 0x80
        #expect(DNSQuery(response) == nil)
        #expect(DNSQuery(Array(Self.query("web").dropLast(2))) == nil)
        #expect(DNSQuery([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]) == nil)
    }

    @Test("names resolve on the asker's networks only; several containers on one name in turn; other types answer empty")
    func scoping() throws {
        let dns = try EmbeddedDNS(upstreams: [])
        dns.add(.init(container: "a", network: "front", names: ["web"], address: IPv4Address("10.1.0.2")!))
        dns.add(.init(container: "b", network: "front", names: ["web", "b1"], address: IPv4Address("10.1.0.3")!))
        dns.add(.init(container: "c", network: "back", names: ["db"], address: IPv4Address("10.2.0.2")!))
        func ask(_ name: String, from container: String, type: UInt16 = DNSQuery.a) -> [UInt8]? {
            DNSQuery(Self.query(name, type: type)).flatMap { dns.answer($0, from: container) }
        }
        let first = try #require(ask("web", from: "b")), second = try #require(ask("web", from: "b"))
        #expect(first[7] == 2 && second[7] == 2 && first.suffix(4) != second.suffix(4))
        #expect(ask("b1.front", from: "a")?.suffix(4) == [10, 1, 0, 3])
        #expect(ask("db", from: "a") == nil, "another network's name is not known here: forwarded")
        #expect(ask("db", from: "c")?.suffix(4) == [10, 2, 0, 2])
        #expect(ask("web", from: "a", type: DNSQuery.aaaa)?[7] == 0)
        let reverse = try #require(ask("3.0.1.10.in-addr.arpa", from: "a", type: DNSQuery.ptr))
        #expect(Array(reverse.suffix(5)) == [3, 119, 101, 98, 0], "the PTR names the container's first name, web")
        dns.remove(container: "b")
        #expect(ask("b1", from: "a") == nil)
        // No upstream: NXDOMAIN at once.
        let unknown = try #require(DNSQuery(Self.query("elsewhere.test")))
        #expect(EmbeddedDNS.forward(Self.query("elsewhere.test"), unknown, to: [])[3] & 0x0f == 3)
    }

    @Test("links are names only their container resolves; berth-dns messages round-trip and apply: hello answers what is served")
    func linksAndMessages() throws {
        let dns = try EmbeddedDNS(upstreams: [])
        dns.add(.init(container: "t", network: "app", names: ["target"], address: IPv4Address("10.3.0.2")!))
        dns.add(.init(container: "u", network: "app", names: ["user"], address: IPv4Address("10.3.0.3")!, links: ["TGT": "t"]))
        dns.add(.init(container: "o", network: "app", names: ["other"], address: IPv4Address("10.3.0.4")!))
        #expect(DNSQuery(Self.query("tgt")).flatMap { dns.answer($0, from: "u") }?.suffix(4) == [10, 3, 0, 2])
        #expect(DNSQuery(Self.query("tgt")).flatMap { dns.answer($0, from: "o") } == nil)

        var add = NameServerMessage(op: .add)
        add.container = "n"
        add.network = "app"
        add.names = ["new"]
        add.address = "10.3.0.9"
        add.links = ["t2": "t"]
        let decoded = try NameServerMessage(bytes: add.bytes)
        #expect(decoded == add && decoded.member == EmbeddedDNS.Member(container: "n", network: "app", names: ["new"], address: IPv4Address("10.3.0.9")!, links: ["t2": "t"]))
        #expect(decoded.apply(to: dns, descriptor: nil) == nil)
        #expect(DNSQuery(Self.query("new")).flatMap { dns.answer($0, from: "o") }?.suffix(4) == [10, 3, 0, 9])
        var remove = NameServerMessage(op: .remove)
        remove.container = "n"
        _ = remove.apply(to: dns, descriptor: nil)
        #expect(DNSQuery(Self.query("new")).flatMap { dns.answer($0, from: "o") } == nil)
        var hello = NameServerMessage(op: .hello)
        hello.upstreams = ["127.0.0.9"]
        #expect(hello.apply(to: dns, descriptor: nil)?.containers == [])
        #expect(throws: (any Error).self, "an unknown operation does not decode") { try NameServerMessage(bytes: Array(#"{"op":"bogus"}"#.utf8)) }
    }

    @Test("UDP answers stay within 512 bytes, truncated with TC; IPv6 reverse names parse")
    func truncationAndReverse6() throws {
        let query = try #require(DNSQuery(Self.query("many")))
        let addresses = (1...40).map { IPv4Address(0x0a00_0000 | UInt32($0)) }
        let whole = query.answer(addresses: addresses)
        let fitted = query.answerFittingUDP(addresses: addresses)
        #expect(whole.count > 512 && fitted.count <= 512 && fitted[2] & 0x02 != 0, "TC set")
        #expect(Int(fitted[6]) << 8 | Int(fitted[7]) == (512 - 12 - 10) / 16)
        #expect(query.answerFittingUDP(addresses: Array(addresses.prefix(3))) == query.answer(addresses: Array(addresses.prefix(3))))
        let reverse = "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa"
        #expect(DNSQuery(Self.query(reverse, type: DNSQuery.ptr))?.reverseAddress6 == IPv6Address("fd00::2"))
        #expect(DNSQuery(Self.query("x.ip6.arpa", type: DNSQuery.ptr))?.reverseAddress6 == nil)
    }

    @Test("over TCP (loopback), a query after its length gets the whole answer, then the connection closes")
    func tcp() throws {
        let dns = try EmbeddedDNS(upstreams: [])
        for index in 1...40 { dns.add(.init(container: "c\(index)", network: "app", names: ["many"], address: IPv4Address(0x0a00_0000 | UInt32(index)))) }
        // The asker's UDP socket (unused here) and its TCP listener, on loopback ports of the test's.
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0), listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        #expect(Glibc.listen(listener, 4) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        dns.serve(udp, for: "c1")
        dns.listen(listener, for: "c1")
        defer { dns.remove(container: "c1") }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) } }
        #expect(connected == 0)
        let query = Self.query("many")
        // Sent in two pieces: the server waits for the whole message.
        let framed = [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query
        _ = framed.prefix(5).withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
        _ = framed.dropFirst(5).withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            reply += buffer[0..<count]
        }
        #expect(reply.count > 514 && Int(reply[0]) << 8 | Int(reply[1]) == reply.count - 2, "one length-prefixed answer, then EOF")
        #expect(reply.count > 9 && reply[4] & 0x02 == 0 && Int(reply[8]) << 8 | Int(reply[9]) == 40, "all 40 records, not truncated")
    }
}
