/// A D-Bus value, as the wire format carries it (the types systemd's manager calls need).
indirect enum DBusValue: Equatable {
    case byte(UInt8)
    case bool(Bool)
    case int32(Int32)
    case uint32(UInt32)
    case uint64(UInt64)
    case string(String)
    case objectPath(String)
    case signature(String)
    /// Elements share `elementType` (given, so that an empty array has a signature too).
    case array(elementType: String, [DBusValue])
    case structure([DBusValue])
    case variant(DBusValue)

    var signature: String {
        switch self {
        case .byte: return "y"
        case .bool: return "b"
        case .int32: return "i"
        case .uint32: return "u"
        case .uint64: return "t"
        case .string: return "s"
        case .objectPath: return "o"
        case .signature: return "g"
        case let .array(elementType, _): return "a" + elementType
        case let .structure(fields): return "(" + fields.map(\.signature).joined() + ")"
        case .variant: return "v"
        }
    }

    var string: String? {
        switch self {
        case let .string(s), let .objectPath(s), let .signature(s): return s
        default: return nil
        }
    }
}

/// One D-Bus message: little-endian marshalling of the header and body (D-Bus specification,
/// "Message Protocol"), and parsing of what comes back.
struct DBusMessage: Equatable {
    enum Kind: UInt8 { case methodCall = 1, methodReturn = 2, error = 3, signal = 4 }

    var kind: Kind
    var serial: UInt32
    var path: String?
    var interface: String?
    var member: String?
    var errorName: String?
    var replySerial: UInt32?
    var destination: String?
    var body: [DBusValue] = []

    static func call(serial: UInt32, destination: String, path: String, interface: String, member: String, _ body: [DBusValue]) -> DBusMessage {
        DBusMessage(kind: .methodCall, serial: serial, path: path, interface: interface, member: member,
                    destination: destination, body: body)
    }

    // MARK: writing

    func encoded() -> [UInt8] {
        var bodyWriter = DBusWriter()
        for value in body { bodyWriter.write(value) }
        var fields: [DBusValue] = []
        func field(_ code: UInt8, _ value: DBusValue?) {
            if let value { fields.append(.structure([.byte(code), .variant(value)])) }
        }
        field(1, path.map(DBusValue.objectPath))
        field(2, interface.map(DBusValue.string))
        field(3, member.map(DBusValue.string))
        field(4, errorName.map(DBusValue.string))
        field(5, replySerial.map(DBusValue.uint32))
        field(6, destination.map(DBusValue.string))
        if !body.isEmpty { field(8, .signature(body.map(\.signature).joined())) }
        var writer = DBusWriter()
        writer.bytes = [UInt8(ascii: "l"), kind.rawValue, 0, 1]
        writer.write(.uint32(UInt32(bodyWriter.bytes.count)))
        writer.write(.uint32(serial))
        writer.write(.array(elementType: "(yv)", fields))
        writer.pad(to: 8)
        return writer.bytes + bodyWriter.bytes
    }

    // MARK: reading

    /// The length of the message that starts `buffer`, once its fixed header has arrived.
    static func length(of buffer: [UInt8]) throws -> Int? {
        guard buffer.count >= 16 else { return nil }
        guard buffer[0] == UInt8(ascii: "l") else { throw DBusError.protocolError("big-endian messages are not supported") }
        var reader = DBusReader(bytes: buffer)
        reader.position = 4
        let bodyLength = Int(try reader.read("u").uint32)
        reader.position = 12
        let fieldsLength = Int(try reader.read("u").uint32)
        let header = 16 + fieldsLength
        let total = ((header + 7) & ~7) + bodyLength
        guard total <= 128 << 20 else { throw DBusError.protocolError("a message of \(total) bytes is over D-Bus's limit") }
        return total
    }

    init(kind: Kind, serial: UInt32, path: String? = nil, interface: String? = nil, member: String? = nil,
         errorName: String? = nil, replySerial: UInt32? = nil, destination: String? = nil, body: [DBusValue] = []) {
        self.kind = kind
        self.serial = serial
        self.path = path
        self.interface = interface
        self.member = member
        self.errorName = errorName
        self.replySerial = replySerial
        self.destination = destination
        self.body = body
    }

    /// Parses one whole message (`length(of:)` bytes).
    init(decoding bytes: [UInt8]) throws {
        var reader = DBusReader(bytes: bytes)
        guard bytes.count >= 16, let kind = Kind(rawValue: bytes[1]) else { throw DBusError.protocolError("unknown message type") }
        reader.position = 8
        self.init(kind: kind, serial: try reader.read("u").uint32)
        guard case let .array(_, fields) = try reader.read("a(yv)") else { throw DBusError.protocolError("bad header fields") }
        var signature = ""
        for case let .structure(parts) in fields {
            guard parts.count == 2, case let .byte(code) = parts[0], case let .variant(value) = parts[1] else { continue }
            switch code {
            case 1: path = value.string
            case 2: interface = value.string
            case 3: member = value.string
            case 4: errorName = value.string
            case 5: if case let .uint32(n) = value { replySerial = n }
            case 6: destination = value.string
            case 8: signature = value.string ?? ""
            default: break
            }
        }
        reader.align(8)
        var types = Substring(signature)
        while !types.isEmpty {
            let type = try DBusReader.nextType(&types)
            body.append(try reader.read(type))
        }
    }
}

enum DBusError: Error, CustomStringConvertible {
    case protocolError(String)
    case remote(name: String, message: String)

    var description: String {
        switch self {
        case let .protocolError(message): return "D-Bus: \(message)"
        case let .remote(name, message): return "\(name): \(message)"
        }
    }
}

/// Appends values with D-Bus alignment (offsets count from the start of the message part).
struct DBusWriter {
    var bytes: [UInt8] = []

    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    private mutating func raw<T: FixedWidthInteger>(_ value: T) {
        pad(to: MemoryLayout<T>.size)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: DBusValue) {
        switch value {
        case let .byte(b): bytes.append(b)
        case let .bool(b): raw(UInt32(b ? 1 : 0))
        case let .int32(n): raw(n)
        case let .uint32(n): raw(n)
        case let .uint64(n): raw(n)
        case let .string(s), let .objectPath(s):
            raw(UInt32(s.utf8.count))
            bytes.append(contentsOf: s.utf8)
            bytes.append(0)
        case let .signature(s):
            bytes.append(UInt8(s.utf8.count))
            bytes.append(contentsOf: s.utf8)
            bytes.append(0)
        case let .array(elementType, elements):
            raw(UInt32(0))
            let lengthAt = bytes.count - 4
            pad(to: DBusReader.alignment(of: elementType))
            let start = bytes.count
            for element in elements { write(element) }
            let length = UInt32(bytes.count - start).littleEndian
            withUnsafeBytes(of: length) { bytes.replaceSubrange(lengthAt..<lengthAt + 4, with: $0) }
        case let .structure(fields):
            pad(to: 8)
            for field in fields { write(field) }
        case let .variant(inner):
            write(.signature(inner.signature))
            write(inner)
        }
    }
}

/// Reads values by their signature, with the same alignment rules.
struct DBusReader {
    let bytes: [UInt8]
    var position = 0

    static func alignment(of type: String) -> Int {
        switch type.first {
        case "y", "g", "v": return 1
        case "n", "q": return 2
        case "x", "t", "d", "(", "{": return 8
        default: return 4
        }
    }

    /// Splits the first complete type off a signature.
    static func nextType(_ signature: inout Substring) throws -> String {
        guard let first = signature.first else { throw DBusError.protocolError("empty signature") }
        if first == "a" {
            signature.removeFirst()
            return "a" + (try nextType(&signature))
        }
        if first == "(" || first == "{" {
            let close: Character = first == "(" ? ")" : "}"
            var depth = 0
            var end = signature.startIndex
            for index in signature.indices {
                if signature[index] == first { depth += 1 } else if signature[index] == close { depth -= 1 }
                if depth == 0 { end = index; break }
            }
            guard depth == 0 else { throw DBusError.protocolError("unbalanced signature") }
            let type = String(signature[...end])
            signature = signature[signature.index(after: end)...]
            return type
        }
        signature.removeFirst()
        return String(first)
    }

    mutating func align(_ alignment: Int) { position = (position + alignment - 1) / alignment * alignment }

    private mutating func raw<T: FixedWidthInteger>(_: T.Type) throws -> T {
        align(MemoryLayout<T>.size)
        guard position + MemoryLayout<T>.size <= bytes.count else { throw DBusError.protocolError("message truncated") }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[position..<position + MemoryLayout<T>.size]) }
        position += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    private mutating func text(count: Int) throws -> String {
        guard count >= 0, position + count + 1 <= bytes.count else { throw DBusError.protocolError("message truncated") }
        let text = String(decoding: bytes[position..<position + count], as: UTF8.self)
        position += count + 1
        return text
    }

    mutating func read(_ type: String) throws -> DBusValue {
        switch type.first {
        case "y":
            guard position < bytes.count else { throw DBusError.protocolError("message truncated") }
            position += 1
            return .byte(bytes[position - 1])
        case "b": return .bool(try raw(UInt32.self) != 0)
        case "i": return .int32(try raw(Int32.self))
        case "u": return .uint32(try raw(UInt32.self))
        case "t": return .uint64(try raw(UInt64.self))
        case "x": return .uint64(UInt64(bitPattern: try raw(Int64.self)))
        case "n", "q": return .uint32(UInt32(try raw(UInt16.self)))
        case "d": return .uint64(try raw(UInt64.self))
        case "s": return .string(try text(count: Int(try raw(UInt32.self))))
        case "o": return .objectPath(try text(count: Int(try raw(UInt32.self))))
        case "g":
            guard position < bytes.count else { throw DBusError.protocolError("message truncated") }
            position += 1
            return .signature(try text(count: Int(bytes[position - 1])))
        case "v":
            guard case let .signature(inner) = try read("g") else { throw DBusError.protocolError("bad variant") }
            return .variant(try read(inner))
        case "a":
            let length = Int(try raw(UInt32.self))
            let element = String(type.dropFirst())
            align(Self.alignment(of: element))
            let end = position + length
            guard end <= bytes.count else { throw DBusError.protocolError("message truncated") }
            var elements: [DBusValue] = []
            while position < end { elements.append(try read(element)) }
            return .array(elementType: element, elements)
        case "(", "{":
            align(8)
            var inner = Substring(type.dropFirst().dropLast())
            var fields: [DBusValue] = []
            while !inner.isEmpty { fields.append(try read(try Self.nextType(&inner))) }
            return .structure(fields)
        default:
            throw DBusError.protocolError("unsupported type \(type)")
        }
    }
}

extension DBusValue {
    /// The number inside, for header fields read back (0 when not a number).
    var uint32: UInt32 {
        if case let .uint32(n) = self { return n }
        return 0
    }
}
