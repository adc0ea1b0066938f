@testable import BerthNetwork
import Glibc
import Synchronization
import Testing

/// rtnetlink requests as bytes, over a fake transport that records them and answers as the
/// kernel does: no root, no namespace.
@Suite("netlink messages")
struct NetlinkTests {
    /// Records each request; answers with the replies queued for its message type.
    final class FakeKernel: NetlinkTransport {
        let sent = Mutex<[NetlinkMessage]>([])
        let replies: [UInt16: [NetlinkMessage]]
        let refusals: [UInt16: Int32]

        init(replies: [UInt16: [NetlinkMessage]] = [:], refusals: [UInt16: Int32] = [:]) {
            self.replies = replies
            self.refusals = refusals
        }

        func exchange(_ request: NetlinkMessage) throws -> [NetlinkMessage] {
            sent.withLock { $0.append(request) }
            if let errno = refusals[request.type] { throw NetlinkError("request \(request.type)", errno: errno) }
            return replies[request.type] ?? []
        }
    }

    @Test("a header, a family header and padded attributes; datagrams parse back")
    func framing() throws {
        var message = NetlinkMessage(type: NetlinkMessage.newLink, flags: Netlink.create,
                                     payload: LinkHeader(index: 7).bytes + NetlinkAttribute.encode([NetlinkAttribute(3, string: "br0")]))
        message.sequence = 9
        let bytes = message.bytes
        // 16 (nlmsghdr) + 16 (ifinfomsg) + 8 ("br0\0" with its 4-byte header).
        #expect(bytes.count == 40)
        #expect(Array(bytes[0..<4]) == [40, 0, 0, 0] && Array(bytes[4..<6]) == [16, 0] && Array(bytes[6..<8]) == [0x05, 0x06])
        #expect(Array(bytes[32..<40]) == [8, 0, 3, 0, 98, 114, 48, 0])
        let parsed = try #require(NetlinkMessage.parse(bytes + bytes))
        #expect(parsed == [message, message])
        #expect(LinkHeader(parsed[0].payload)?.index == 7)
        #expect(NetlinkAttribute.parse(parsed[0].payload[16...])?.first?.string == "br0")
        // Truncated or overrunning input is refused, not read past.
        #expect(NetlinkMessage.parse(Array(bytes.prefix(39))) == nil)
        #expect(NetlinkAttribute.parse([200, 0, 3, 0][...]) == nil)
        // An error reply carries the negated errno; 0 acknowledges.
        let refusal = NetlinkMessage(type: NetlinkMessage.error, flags: 0, payload: [UInt8].littleEndian(UInt32(bitPattern: -EEXIST)) + bytes.prefix(16))
        #expect(refusal.errorCode == EEXIST)
    }

    @Test("a veth pair: the peer's name, MAC and MTU nest inside the link info, as the kernel reads them")
    func vethRequest() throws {
        let kernel = FakeKernel()
        try Netlink(kernel).createVeth("veth1", peer: "vc1", peerAddress: [2, 0x42, 172, 17, 0, 2], mtu: 1450)
        let request = try #require(kernel.sent.withLock { $0.first })
        #expect(request.type == NetlinkMessage.newLink && request.flags == 0x605)
        let attributes = try #require(NetlinkAttribute.parse(request.payload[16...]))
        #expect(attributes.map(\.type) == [3, 4, 18])
        #expect(attributes[0].string == "veth1" && attributes[1].uint32 == 1450)
        let info = try #require(NetlinkAttribute.parse(attributes[2].value[...]))
        #expect(info.first?.string == "veth" && info.count == 2)
        let data = try #require(NetlinkAttribute.parse(info[1].value[...]))
        let peer = data[0].value
        #expect(LinkHeader(Array(peer.prefix(16))) == LinkHeader())
        let peerAttributes = try #require(NetlinkAttribute.parse(peer[16...]))
        #expect(peerAttributes.map(\.string).first == "vc1" && peerAttributes[1].value == [2, 0x42, 172, 17, 0, 2] && peerAttributes[2].uint32 == 1450)
    }

    @Test("addresses, routes and links: the requests, and the kernel's refusals named by step")
    func operations() throws {
        let link = NetlinkMessage(type: NetlinkMessage.newLink, flags: 0, payload: LinkHeader(index: 12).bytes)
        var addressReply: [UInt8] = [UInt8(AF_INET), 16, 0, 0] + [UInt8].littleEndian(UInt32(12))
        addressReply += NetlinkAttribute.encode([NetlinkAttribute(2, [172, 17, 0, 1])])
        var routeReply: [UInt8] = [UInt8(AF_INET), 24, 0, 0, 254, 3, 0, 1] + [UInt8].littleEndian(UInt32(0))
        routeReply += NetlinkAttribute.encode([NetlinkAttribute(1, [10, 9, 8, 0])])
        var bridgeRoute: [UInt8] = [UInt8(AF_INET), 16, 0, 0, 254, 3, 0, 1] + [UInt8].littleEndian(UInt32(0))
        bridgeRoute += NetlinkAttribute.encode([NetlinkAttribute(1, [172, 17, 0, 0]), NetlinkAttribute(4, [UInt8].littleEndian(UInt32(12)))])
        let kernel = FakeKernel(replies: [NetlinkMessage.getLink: [link],
                                          NetlinkMessage.getAddress: [NetlinkMessage(type: 20, flags: 2, payload: addressReply)],
                                          NetlinkMessage.getRoute: [NetlinkMessage(type: 24, flags: 2, payload: routeReply),
                                                                    NetlinkMessage(type: 24, flags: 2, payload: bridgeRoute)]],
                                refusals: [NetlinkMessage.newRoute: EEXIST])
        let netlink = Netlink(kernel)
        #expect(try netlink.linkIndex("berth0") == 12)
        #expect(try netlink.addresses(12).map { "\($0.address)/\($0.prefix)" } == ["172.17.0.1/16"])
        #expect(try netlink.routes() == [IPv4Subnet("10.9.8.0/24")!, IPv4Subnet("172.17.0.0/16")!])
        // Berth's own bridge's route does not count against its own subnet.
        #expect(try netlink.routes(excluding: 12) == [IPv4Subnet("10.9.8.0/24")!])
        try netlink.addAddress(12, IPv4Address("172.17.0.2")!, prefix: 16)
        let added = try #require(kernel.sent.withLock { $0.last })
        #expect(Array(added.payload.prefix(8)) == [UInt8(AF_INET), 16, 0, 0, 12, 0, 0, 0])
        #expect(NetlinkAttribute.parse(added.payload[8...])?.map(\.value) == [[172, 17, 0, 2], [172, 17, 0, 2]])
        #expect(throws: NetlinkError("add a default route via 172.17.0.1", errno: EEXIST)) {
            try netlink.addDefaultRoute(via: IPv4Address("172.17.0.1")!, link: 12)
        }
        // No such link: nil, not an error.
        #expect(try Netlink(FakeKernel(refusals: [NetlinkMessage.getLink: ENODEV])).linkIndex("nope") == nil)
    }
}
