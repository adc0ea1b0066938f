@testable import BerthNetwork
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
}
