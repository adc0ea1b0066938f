import Foundation

/// Any JSON value. Container `Config` and `HostConfig` are kept as the client sent them
/// (merged over Docker's defaults), so inspect returns every field, known to us or not.
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .int(value): try container.encode(value)
        case let .double(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }

    /// Any Encodable value as JSON.
    public init<T: Encodable>(encoding value: T) throws {
        self = try JSONValue(parsing: JSONEncoder().encode(value))
    }

    /// Decodes a typed view of this value.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: JSONEncoder().encode(self))
    }

    public subscript(key: String) -> JSONValue? {
        get { if case let .object(object) = self { return object[key] } else { return nil } }
        set {
            guard case var .object(object) = self else { return }
            object[key] = newValue
            self = .object(object)
        }
    }

    public var string: String? { if case let .string(value) = self { return value } else { return nil } }
    public var bool: Bool? { if case let .bool(value) = self { return value } else { return nil } }
    public var int: Int64? {
        switch self {
        case let .int(value): return value
        // A client's number may be anything JSON allows (1e30, 1.5): only integral values that
        // fit are integers; converting the rest would trap.
        case let .double(value): return Int64(exactly: value)
        default: return nil
        }
    }
    public var array: [JSONValue]? { if case let .array(value) = self { return value } else { return nil } }
    public var object: [String: JSONValue]? { if case let .object(value) = self { return value } else { return nil } }
    public var isNull: Bool { self == .null }

    /// Strings of an array value (`Env`, `Cmd`); a lone string counts as one element, as Docker accepts.
    public var strings: [String]? {
        switch self {
        case let .string(value): return [value]
        case let .array(values): return values.compactMap(\.string)
        default: return nil
        }
    }

    /// `self` with `overrides` laid over it key by key (objects merge one level deep; `null` keeps the default).
    public func merging(_ overrides: JSONValue) -> JSONValue {
        guard case var .object(base) = self, case let .object(top) = overrides else { return overrides }
        for (key, value) in top where !value.isNull || base[key] == nil { base[key] = value }
        return .object(base)
    }
}

extension JSONValue {
    /// Compact JSON bytes, keys sorted, slashes not escaped: written directly (a JSONEncoder
    /// took five times as long as parsing the same document, on every answer).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .null: out += "null".utf8
        case let .bool(value): out += (value ? "true" : "false").utf8
        case let .int(value): out += String(value).utf8
        case let .double(value):
            // JSON has no NaN or infinity; an integral value prints as an integer, as JSONEncoder did.
            if !value.isFinite { out += "null".utf8 } else if value == value.rounded(), abs(value) < 1e15 {
                out += String(Int64(value)).utf8
            } else {
                out += "\(value)".utf8
            }
        case let .string(value): Self.writeString(value, into: &out)
        case let .array(values):
            out.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(entries):
            out.append(UInt8(ascii: "{"))
            for (index, key) in entries.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                entries[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0..<0x20: out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
