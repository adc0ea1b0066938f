/// The part of DNS (RFC 1035) the embedded server needs: a query's ID, flags and first
/// question, and answers to it. Pure bytes in and out.
public struct DNSQuery: Sendable, Equatable {
    public var id: UInt16
    public var flags: UInt16
    /// Lower-cased, without the trailing dot.
    public var name: String
    public var type: UInt16
    public var questionClass: UInt16
    /// The question's bytes as sent (echoed in the answer).
    var question: ArraySlice<UInt8>

    public static let a: UInt16 = 1, ptr: UInt16 = 12, aaaa: UInt16 = 28

    /// A standard query with one question; nil for anything else (the server drops it).
    public init?(_ packet: [UInt8]) {
        guard packet.count >= 12, packet.count <= 512 else { return nil }
        id = UInt16(packet[0]) << 8 | UInt16(packet[1])
        flags = UInt16(packet[2]) << 8 | UInt16(packet[3])
        let questions = UInt16(packet[4]) << 8 | UInt16(packet[5])
        // A response, or not a standard query (opcode 0), or not exactly one question.
        guard flags & 0x8000 == 0, flags & 0x7800 == 0, questions == 1 else { return nil }
        var offset = 12
        var labels: [String] = []
        while true {
            guard offset < packet.count else { return nil }
            let length = Int(packet[offset])
            offset += 1
            if length == 0 { break }
            // Compression has no place in a question; labels are at most 63 bytes.
            guard length <= 63, offset + length <= packet.count else { return nil }
            labels.append(String(decoding: packet[offset..<(offset + length)], as: UTF8.self).lowercased())
            offset += length
        }
        guard offset + 4 <= packet.count, labels.joined().utf8.count + labels.count <= 255 else { return nil }
        name = labels.joined(separator: ".")
        type = UInt16(packet[offset]) << 8 | UInt16(packet[offset + 1])
        questionClass = UInt16(packet[offset + 2]) << 8 | UInt16(packet[offset + 3])
        question = packet[12..<(offset + 4)]
    }

    /// The answer: `addresses` as A records, `addresses6` as AAAA records (or `names` as PTR
    /// records); `notFound` gives NXDOMAIN, otherwise an empty answer is "no records of this type".
    /// `truncated`: the TC flag (the whole answer needs TCP).
    public func answer(addresses: [IPv4Address] = [], addresses6: [IPv6Address] = [], names: [String] = [], notFound: Bool = false,
                       truncated: Bool = false, ttl: UInt32 = 600) -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff)]
        // QR, the query's RD, RA; authoritative for the names it knows; NXDOMAIN or NOERROR.
        let flags: UInt16 = 0x8000 | (self.flags & 0x0100) | 0x0080 | (notFound ? 3 : 0x0400) | (truncated ? 0x0200 : 0)
        out += [UInt8(flags >> 8), UInt8(flags & 0xff), 0, 1]
        let count = UInt16(addresses.count + addresses6.count + names.count)
        out += [UInt8(count >> 8), UInt8(count & 0xff), 0, 0, 0, 0]
        out += question
        func record(_ type: UInt16, _ data: [UInt8]) {
            // The name is a pointer to the question's (offset 12).
            out += [0xc0, 0x0c, UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
            out += [UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xff), UInt8(ttl >> 8 & 0xff), UInt8(ttl & 0xff)]
            out += [UInt8(data.count >> 8), UInt8(data.count & 0xff)] + data
        }
        for address in addresses { record(Self.a, address.bytes) }
        for address in addresses6 { record(Self.aaaa, address.bytes) }
        for name in names { record(Self.ptr, Self.encode(name)) }
        return out
    }

    /// `web.front` as DNS labels.
    static func encode(_ name: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in name.split(separator: ".") {
            let bytes = Array(label.utf8.prefix(63))
            out.append(UInt8(bytes.count))
            out += bytes
        }
        return out + [0]
    }

    /// The answer for a UDP client: at most 512 bytes, as many of the addresses as fit and the
    /// TC flag when not all do (the client asks again over TCP).
    public func answerFittingUDP(addresses: [IPv4Address] = [], addresses6: [IPv6Address] = []) -> [UInt8] {
        let whole = answer(addresses: addresses, addresses6: addresses6)
        guard whole.count > 512 else { return whole }
        // Each record: a name pointer (2), type, class (4), TTL (4), length (2) and the address.
        let room = 512 - (12 + question.count)
        let fitting = room / (12 + (addresses.isEmpty ? 16 : 4))
        return answer(addresses: Array(addresses.prefix(fitting)), addresses6: Array(addresses6.prefix(addresses.isEmpty ? fitting : 0)), truncated: true)
    }

    /// The IPv6 address a reverse name asks about (32 nibbles, then `ip6.arpa`), if it is one.
    public var reverseAddress6: IPv6Address? {
        guard name.hasSuffix(".ip6.arpa") else { return nil }
        let nibbles = name.dropLast(".ip6.arpa".count).split(separator: ".")
        guard nibbles.count == 32, nibbles.allSatisfy({ $0.count == 1 }) else { return nil }
        var value: UInt128 = 0
        for nibble in nibbles.reversed() {
            guard let digit = UInt8(nibble, radix: 16) else { return nil }
            value = value << 4 | UInt128(digit)
        }
        return IPv6Address(value)
    }

    /// The address a reverse name asks about (`2.0.17.172.in-addr.arpa`), if it is one.
    public var reverseAddress: IPv4Address? {
        guard name.hasSuffix(".in-addr.arpa") else { return nil }
        let parts = name.dropLast(".in-addr.arpa".count).split(separator: ".")
        guard parts.count == 4 else { return nil }
        return IPv4Address(parts.reversed().joined(separator: "."))
    }
}
