import Glibc

/// The link, address and route operations Berth's drivers need, as rtnetlink requests over a
/// transport (no `ip` commands). Each request waits for the kernel's acknowledgement, so an
/// error names the step that failed.
public struct Netlink: Sendable {
    public let transport: any NetlinkTransport

    public init(_ transport: any NetlinkTransport) { self.transport = transport }

    // Attribute numbers (linux/if_link.h, linux/if_addr.h, linux/rtnetlink.h, linux/veth.h).
    static let linkAddress: UInt16 = 1, linkName: UInt16 = 3, linkMTU: UInt16 = 4, linkParent: UInt16 = 5, linkMaster: UInt16 = 10
    static let linkInfo: UInt16 = 18, linkNamespaceFD: UInt16 = 28
    static let infoKind: UInt16 = 1, infoData: UInt16 = 2, vethPeer: UInt16 = 1
    static let addressAddress: UInt16 = 1, addressLocal: UInt16 = 2
    static let routeDestination: UInt16 = 1, routeOutput: UInt16 = 4, routeGateway: UInt16 = 5
    static let nested: UInt16 = 0x8000
    static let create = NetlinkMessage.request | NetlinkMessage.acknowledge | NetlinkMessage.create | NetlinkMessage.exclusive
    static let change = NetlinkMessage.request | NetlinkMessage.acknowledge

    // MARK: Links

    /// The index of the link named `name`, or nil when there is none.
    public func linkIndex(_ name: String) throws -> Int32? {
        let request = NetlinkMessage(type: NetlinkMessage.getLink, flags: NetlinkMessage.request,
                                     payload: LinkHeader().bytes + NetlinkAttribute.encode([NetlinkAttribute(Self.linkName, string: name)]))
        do {
            guard let reply = try transport.exchange(request).first, let header = LinkHeader(reply.payload) else { return nil }
            return header.index
        } catch let error as NetlinkError where error.errno == ENODEV {
            return nil
        }
    }

    /// A Linux bridge (down until `setUp`).
    public func createBridge(_ name: String, mtu: Int? = nil) throws {
        try createLink(name, kind: "bridge", mtu: mtu, operation: "create bridge \(name)")
    }

    /// A dummy link (tests use one as a parent interface).
    public func createDummy(_ name: String) throws {
        try createLink(name, kind: "dummy", mtu: nil, operation: "create dummy link \(name)")
    }

    /// A veth pair: `name` here and `peer`, which gets `peerAddress` as its MAC and is made in
    /// the namespace behind `peerNamespace` when given (moving a link between namespaces waits
    /// for an RCU grace period, tens of milliseconds; making it there does not).
    public func createVeth(_ name: String, peer: String, peerAddress: [UInt8]? = nil, mtu: Int? = nil, peerNamespace: Int32? = nil) throws {
        var peerAttributes = [NetlinkAttribute(Self.linkName, string: peer)]
        if let peerAddress { peerAttributes.append(NetlinkAttribute(Self.linkAddress, peerAddress)) }
        if let mtu { peerAttributes.append(NetlinkAttribute(Self.linkMTU, uint32: UInt32(mtu))) }
        if let peerNamespace { peerAttributes.append(NetlinkAttribute(Self.linkNamespaceFD, int32: peerNamespace)) }
        let peerInfo = NetlinkAttribute(Self.vethPeer | Self.nested, LinkHeader().bytes + NetlinkAttribute.encode(peerAttributes))
        try createLink(name, kind: "veth", mtu: mtu, data: [peerInfo], operation: "create veth pair \(name)/\(peer)")
    }

    /// A macvlan (bridge mode) or ipvlan (L2 mode) link on `parent`, made in the namespace behind
    /// `namespaceFD` under `name`.
    public func createSublink(_ name: String, kind: String, parent: Int32, namespaceFD: Int32, macAddress: [UInt8]?) throws {
        // IFLA_MACVLAN_MODE = 1 (u32, bridge = 4); IFLA_IPVLAN_MODE = 1 (u16, L2 = 0).
        let mode = kind == "macvlan" ? NetlinkAttribute(1, uint32: 4) : NetlinkAttribute(1, [0, 0])
        var attributes = [NetlinkAttribute(Self.linkName, string: name), NetlinkAttribute(Self.linkParent, int32: parent),
                          NetlinkAttribute(Self.linkNamespaceFD, int32: namespaceFD)]
        if let macAddress { attributes.append(NetlinkAttribute(Self.linkAddress, macAddress)) }
        attributes.append(NetlinkAttribute(Self.linkInfo | Self.nested, nested: [NetlinkAttribute(Self.infoKind, string: kind),
                                                                                NetlinkAttribute(Self.infoData | Self.nested, nested: [mode])]))
        try send(NetlinkMessage.newLink, Self.create, LinkHeader().bytes + NetlinkAttribute.encode(attributes), "create \(kind) link on \(parent)")
    }

    private func createLink(_ name: String, kind: String, mtu: Int?, data: [NetlinkAttribute] = [], operation: String) throws {
        var info = [NetlinkAttribute(Self.infoKind, string: kind)]
        if !data.isEmpty { info.append(NetlinkAttribute(Self.infoData | Self.nested, nested: data)) }
        var attributes = [NetlinkAttribute(Self.linkName, string: name)]
        if let mtu { attributes.append(NetlinkAttribute(Self.linkMTU, uint32: UInt32(mtu))) }
        attributes.append(NetlinkAttribute(Self.linkInfo | Self.nested, nested: info))
        try send(NetlinkMessage.newLink, Self.create, LinkHeader().bytes + NetlinkAttribute.encode(attributes), operation)
    }

    public func setUp(_ index: Int32) throws {
        try send(NetlinkMessage.newLink, Self.change, LinkHeader(index: index, flags: LinkHeader.up, change: LinkHeader.up).bytes,
                 "bring link \(index) up")
    }

    /// Attaches link `index` to the bridge `master`.
    public func setMaster(_ index: Int32, master: Int32) throws {
        try setAttribute(index, NetlinkAttribute(Self.linkMaster, int32: master), "attach link \(index) to bridge \(master)")
    }

    /// Moves link `index` into the network namespace behind `namespaceFD`.
    public func moveToNamespace(_ index: Int32, namespaceFD: Int32) throws {
        try setAttribute(index, NetlinkAttribute(Self.linkNamespaceFD, int32: namespaceFD), "move link \(index) into a namespace")
    }

    public func rename(_ index: Int32, to name: String) throws {
        try setAttribute(index, NetlinkAttribute(Self.linkName, string: name), "rename link \(index) to \(name)")
    }

    private func setAttribute(_ index: Int32, _ attribute: NetlinkAttribute, _ operation: String) throws {
        try send(NetlinkMessage.newLink, Self.change, LinkHeader(index: index).bytes + NetlinkAttribute.encode([attribute]), operation)
    }

    public func deleteLink(_ index: Int32) throws {
        try send(NetlinkMessage.deleteLink, Self.change, LinkHeader(index: index).bytes, "delete link \(index)")
    }

    // MARK: Addresses and routes

    /// Adds `address/prefix` to link `index`.
    public func addAddress(_ index: Int32, _ address: IPv4Address, prefix: Int) throws {
        var header: [UInt8] = [UInt8(AF_INET), UInt8(prefix), 0, 0]
        header.appendLittleEndian(UInt32(bitPattern: index))
        let attributes = [NetlinkAttribute(Self.addressLocal, address.bytes), NetlinkAttribute(Self.addressAddress, address.bytes)]
        try send(NetlinkMessage.newAddress, Self.create, header + NetlinkAttribute.encode(attributes), "add address \(address)/\(prefix) to link \(index)")
    }

    /// Adds the IPv6 `address/prefix` to link `index`, usable at once (no duplicate address
    /// detection: Berth hands out each address once).
    public func addAddress(_ index: Int32, _ address: IPv6Address, prefix: Int) throws {
        // ifaddrmsg: family, prefix length, flags (IFA_F_NODAD), scope universe, index.
        var header: [UInt8] = [UInt8(AF_INET6), UInt8(prefix), 0x02, 0]
        header.appendLittleEndian(UInt32(bitPattern: index))
        try send(NetlinkMessage.newAddress, Self.create, header + NetlinkAttribute.encode([NetlinkAttribute(Self.addressAddress, address.bytes)]),
                 "add address \(address)/\(prefix) to link \(index)")
    }

    /// The IPv6 addresses of link `index` (global ones and link-local), with their prefix lengths.
    public func addresses6(_ index: Int32) throws -> [(address: IPv6Address, prefix: Int)] {
        let header: [UInt8] = [UInt8(AF_INET6), 0, 0, 0, 0, 0, 0, 0]
        let replies = try transport.exchange(NetlinkMessage(type: NetlinkMessage.getAddress, flags: NetlinkMessage.request | NetlinkMessage.dump, payload: header))
        return replies.compactMap { reply in
            guard reply.payload.count >= 8, reply.payload[0] == UInt8(AF_INET6),
                  Int32(bitPattern: reply.payload.littleEndian(UInt32.self, at: 4)) == index,
                  let attributes = NetlinkAttribute.parse(reply.payload[8...]),
                  let found = attributes.first(where: { $0.type == Self.addressAddress }),
                  let address = IPv6Address(bytes: found.value) else { return nil }
            return (address, Int(reply.payload[1]))
        }
    }

    /// The IPv4 addresses of link `index`, with their prefix lengths.
    public func addresses(_ index: Int32) throws -> [(address: IPv4Address, prefix: Int)] {
        let header: [UInt8] = [UInt8(AF_INET), 0, 0, 0, 0, 0, 0, 0]
        let replies = try transport.exchange(NetlinkMessage(type: NetlinkMessage.getAddress, flags: NetlinkMessage.request | NetlinkMessage.dump, payload: header))
        return replies.compactMap { reply in
            guard reply.payload.count >= 8, Int32(bitPattern: reply.payload.littleEndian(UInt32.self, at: 4)) == index,
                  let attributes = NetlinkAttribute.parse(reply.payload[8...]),
                  let local = attributes.first(where: { $0.type == Self.addressLocal }) ?? attributes.first(where: { $0.type == Self.addressAddress }),
                  let address = IPv4Address(bytes: local.value) else { return nil }
            return (address, Int(reply.payload[1]))
        }
    }

    /// A default route through `gateway` on link `index`.
    public func addDefaultRoute(via gateway: IPv4Address, link index: Int32) throws {
        try send(NetlinkMessage.newRoute, Self.create, defaultRoute(via: gateway, link: index), "add a default route via \(gateway)")
    }

    /// The default route through `gateway` on link `index`, in place of whichever there was (a
    /// container connected to another network may take its gateway from it).
    public func replaceDefaultRoute(via gateway: IPv4Address, link index: Int32) throws {
        try send(NetlinkMessage.newRoute, Self.change | NetlinkMessage.create | NetlinkMessage.replace, defaultRoute(via: gateway, link: index),
                 "set the default route via \(gateway)")
    }

    /// The IPv6 default route through `gateway` on link `index`, in place of whichever there was.
    public func replaceDefaultRoute(via gateway: IPv6Address, link index: Int32) throws {
        var header: [UInt8] = [UInt8(AF_INET6), 0, 0, 0, 254, 3, 0, 1]
        header.appendLittleEndian(UInt32(0))
        let attributes = [NetlinkAttribute(Self.routeGateway, gateway.bytes), NetlinkAttribute(Self.routeOutput, int32: index)]
        try send(NetlinkMessage.newRoute, Self.change | NetlinkMessage.create | NetlinkMessage.replace, header + NetlinkAttribute.encode(attributes),
                 "set the default route via \(gateway)")
    }

    /// Removes the default route of `family` (AF_INET or AF_INET6), if there is one.
    public func deleteDefaultRoute(family: Int32 = AF_INET) throws {
        var header: [UInt8] = [UInt8(family), 0, 0, 0, 254, 0, 0, 0]
        header.appendLittleEndian(UInt32(0))
        // None there: ESRCH for IPv4, ENOENT for IPv6.
        do { try send(NetlinkMessage.deleteRoute, Self.change, header, "delete the default route") } catch let error as NetlinkError
            where error.errno == ESRCH || error.errno == ENOENT {
            return
        }
    }

    private func defaultRoute(via gateway: IPv4Address, link index: Int32) -> [UInt8] {
        // rtmsg: family, dst_len, src_len, tos, table main, protocol boot, scope universe, type unicast; flags.
        var header: [UInt8] = [UInt8(AF_INET), 0, 0, 0, 254, 3, 0, 1]
        header.appendLittleEndian(UInt32(0))
        return header + NetlinkAttribute.encode([NetlinkAttribute(Self.routeGateway, gateway.bytes), NetlinkAttribute(Self.routeOutput, int32: index)])
    }

    /// The destinations of the IPv4 routes of the main table (a new network must not overlap
    /// them), but those through link `excluded` (a bridge of Berth's own).
    public func routes(excluding excluded: Int32? = nil) throws -> [IPv4Subnet] {
        var header: [UInt8] = [UInt8(AF_INET), 0, 0, 0, 0, 0, 0, 0]
        header.appendLittleEndian(UInt32(0))
        let replies = try transport.exchange(NetlinkMessage(type: NetlinkMessage.getRoute, flags: NetlinkMessage.request | NetlinkMessage.dump, payload: header))
        return replies.compactMap { reply in
            guard reply.payload.count >= 12, reply.payload[4] == 254, reply.payload[1] > 0,
                  let attributes = NetlinkAttribute.parse(reply.payload[12...]),
                  let destination = attributes.first(where: { $0.type == Self.routeDestination }),
                  let address = IPv4Address(bytes: destination.value) else { return nil }
            if let excluded, let output = attributes.first(where: { $0.type == Self.routeOutput }), output.value.count == 4,
               Int32(bitPattern: output.value.littleEndian(UInt32.self, at: 0)) == excluded { return nil }
            return IPv4Subnet(address, prefix: Int(reply.payload[1]))
        }
    }

    private func send(_ type: UInt16, _ flags: UInt16, _ payload: [UInt8], _ operation: String) throws {
        do { _ = try transport.exchange(NetlinkMessage(type: type, flags: flags, payload: payload)) } catch let error as NetlinkError {
            throw NetlinkError(operation, errno: error.errno)
        }
    }
}
