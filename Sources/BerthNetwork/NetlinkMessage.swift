/// rtnetlink messages as bytes: a header, a fixed family header (`ifinfomsg`, `ifaddrmsg`,
/// `rtmsg`) and attributes, nested where the kernel nests them. Pure: built and parsed without a
/// socket, so every request Berth sends is unit-tested byte for byte.
public struct NetlinkMessage: Sendable, Equatable {
    public var type: UInt16
    public var flags: UInt16
    public var sequence: UInt32 = 0
    /// The family header and the attributes after the 16-byte `nlmsghdr`.
    public var payload: [UInt8]

    public init(type: UInt16, flags: UInt16, payload: [UInt8]) {
        self.type = type
        self.flags = flags
        self.payload = payload
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 + payload.count)
        out.appendLittleEndian(UInt32(16 + payload.count))
        out.appendLittleEndian(type)
        out.appendLittleEndian(flags)
        out.appendLittleEndian(sequence)
        out.appendLittleEndian(UInt32(0))
        out += payload
        return out
    }

    /// The messages in one datagram the kernel sent (nil when it is truncated or malformed).
    public static func parse(_ datagram: [UInt8]) -> [NetlinkMessage]? {
        var messages: [NetlinkMessage] = []
        var offset = 0
        while offset + 16 <= datagram.count {
            let length = Int(datagram.littleEndian(UInt32.self, at: offset))
            guard length >= 16, offset + length <= datagram.count else { return nil }
            var message = NetlinkMessage(type: datagram.littleEndian(UInt16.self, at: offset + 4),
                                         flags: datagram.littleEndian(UInt16.self, at: offset + 6),
                                         payload: Array(datagram[(offset + 16)..<(offset + length)]))
            message.sequence = datagram.littleEndian(UInt32.self, at: offset + 8)
            messages.append(message)
            offset += (length + 3) & ~3
        }
        return messages
    }

    // Message types and flags (linux/netlink.h, linux/rtnetlink.h).
    public static let error: UInt16 = 2, done: UInt16 = 3
    public static let newLink: UInt16 = 16, deleteLink: UInt16 = 17, getLink: UInt16 = 18
    public static let newAddress: UInt16 = 20, getAddress: UInt16 = 22
    public static let newRoute: UInt16 = 24, deleteRoute: UInt16 = 25, getRoute: UInt16 = 26
    public static let request: UInt16 = 0x1, multi: UInt16 = 0x2, acknowledge: UInt16 = 0x4
    public static let dump: UInt16 = 0x300, replace: UInt16 = 0x100, exclusive: UInt16 = 0x200, create: UInt16 = 0x400

    /// The errno of an `NLMSG_ERROR` reply (0 is the acknowledgement of success).
    public var errorCode: Int32? {
        guard type == Self.error, payload.count >= 4 else { return nil }
        return -Int32(bitPattern: payload.littleEndian(UInt32.self, at: 0))
    }
}

/// One rtnetlink attribute (`rtattr`): a type and a value, or nested attributes.
public struct NetlinkAttribute: Sendable, Equatable {
    public var type: UInt16
    public var value: [UInt8]

    public init(_ type: UInt16, _ value: [UInt8]) {
        self.type = type
        self.value = value
    }

    public init(_ type: UInt16, string: String) { self.init(type, Array(string.utf8) + [0]) }
    public init(_ type: UInt16, uint32: UInt32) { self.init(type, [UInt8].littleEndian(uint32)) }
    public init(_ type: UInt16, int32: Int32) { self.init(type, [UInt8].littleEndian(UInt32(bitPattern: int32))) }
    /// Nested attributes (the kernel reads nesting from the attribute type).
    public init(_ type: UInt16, nested: [NetlinkAttribute]) { self.init(type, NetlinkAttribute.encode(nested)) }

    /// Attributes one after the other, each padded to four bytes.
    public static func encode(_ attributes: [NetlinkAttribute]) -> [UInt8] {
        var out: [UInt8] = []
        for attribute in attributes {
            out.appendLittleEndian(UInt16(4 + attribute.value.count))
            out.appendLittleEndian(attribute.type)
            out += attribute.value
            while out.count % 4 != 0 { out.append(0) }
        }
        return out
    }

    /// The attributes in `bytes` (nil when one overruns them).
    public static func parse(_ bytes: ArraySlice<UInt8>) -> [NetlinkAttribute]? {
        var attributes: [NetlinkAttribute] = []
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(bytes.littleEndian(UInt16.self, at: offset))
            guard length >= 4, offset + length <= bytes.endIndex else { return nil }
            // NLA_F_NESTED and NLA_F_NET_BYTEORDER ride in the type's top bits.
            let type = bytes.littleEndian(UInt16.self, at: offset + 2) & 0x3fff
            attributes.append(NetlinkAttribute(type, Array(bytes[(offset + 4)..<(offset + length)])))
            offset += (length + 3) & ~3
        }
        return attributes
    }

    /// The value as a C string.
    public var string: String { String(decoding: value.prefix { $0 != 0 }, as: UTF8.self) }
    public var uint32: UInt32? { value.count >= 4 ? value.littleEndian(UInt32.self, at: 0) : nil }
}

/// `ifinfomsg`: the fixed header of a link message.
public struct LinkHeader: Sendable, Equatable {
    public var family: UInt8 = 0
    public var type: UInt16 = 0
    public var index: Int32 = 0
    public var flags: UInt32 = 0
    public var change: UInt32 = 0

    public init(index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0) {
        self.index = index
        self.flags = flags
        self.change = change
    }

    public static let up: UInt32 = 0x1

    public var bytes: [UInt8] {
        var out: [UInt8] = [family, 0]
        out.appendLittleEndian(type)
        out.appendLittleEndian(UInt32(bitPattern: index))
        out.appendLittleEndian(flags)
        out.appendLittleEndian(change)
        return out
    }

    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= 16 else { return nil }
        family = bytes[0]
        type = bytes.littleEndian(UInt16.self, at: 2)
        index = Int32(bitPattern: bytes.littleEndian(UInt32.self, at: 4))
        flags = bytes.littleEndian(UInt32.self, at: 8)
        change = bytes.littleEndian(UInt32.self, at: 12)
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        var out: [UInt8] = []
        out.appendLittleEndian(value)
        return out
    }
}

extension Collection where Element == UInt8, Index == Int {
    func littleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for byte in 0..<MemoryLayout<T>.size { value |= T(self[offset + byte]) << (8 * byte) }
        return value
    }
}
