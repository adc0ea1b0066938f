import BerthAPITypes
import Foundation

/// Runs parsed template nodes over JSON values, printing values as Go's `fmt` does.
struct Evaluator {
    let root: JSONValue

    /// A value, or the absence of a map key (which Go prints as `<no value>`).
    enum Value {
        case missing
        case value(JSONValue)

        var json: JSONValue {
            if case let .value(value) = self { return value }
            return .null
        }
    }

    func run(_ nodes: [GoTemplate.Node], dot: JSONValue, into output: inout String) throws {
        for node in nodes {
            switch node {
            case let .text(text):
                output += text
            case let .action(expression):
                output += Self.format(try evaluate(expression, dot: dot))
            case let .conditional(condition, body, elseBody):
                try run(Self.truthy(try evaluate(condition, dot: dot)) ? body : elseBody, dot: dot, into: &output)
            case let .with(expression, body, elseBody):
                let value = try evaluate(expression, dot: dot)
                if Self.truthy(value) { try run(body, dot: value.json, into: &output) } else { try run(elseBody, dot: dot, into: &output) }
            case let .range(expression, body, elseBody):
                let value = try evaluate(expression, dot: dot).json
                let items: [JSONValue]
                switch value {
                case let .array(array): items = array
                case let .object(object): items = object.keys.sorted().map { object[$0]! }
                case .null: items = []
                default: throw GoTemplate.ParseError(description: "template: range can't iterate over \(Self.format(.value(value)))")
                }
                if items.isEmpty { try run(elseBody, dot: dot, into: &output) }
                for item in items { try run(body, dot: item, into: &output) }
            }
        }
    }

    func evaluate(_ expression: GoTemplate.Expression, dot: JSONValue, piped: Value? = nil) throws -> Value {
        switch expression {
        case .dot: return .value(dot)
        case .root: return .value(root)
        case let .string(text): return .value(.string(text))
        case let .number(number): return .value(number == number.rounded() ? .int(Int64(number)) : .double(number))
        case let .bool(flag): return .value(.bool(flag))
        case let .field(base, path):
            var current: Value = try base.map { try evaluate($0, dot: dot) } ?? .value(dot)
            for key in path {
                guard case let .value(value) = current else { return .missing }
                switch value {
                case let .object(object): current = object[key].map { .value($0) } ?? .missing
                case .null: return .missing
                default: throw GoTemplate.ParseError(description: "template: can't evaluate field \(key) in type \(Self.typeName(value))")
                }
            }
            return current
        case let .pipe(input, command):
            let value = try evaluate(input, dot: dot)
            return try evaluate(command, dot: dot, piped: value)
        case let .call(name, argumentExpressions):
            var arguments = try argumentExpressions.map { try evaluate($0, dot: dot) }
            if let piped { arguments.append(piped) }
            return try call(name, arguments)
        }
    }

    private func call(_ name: String, _ arguments: [Value]) throws -> Value {
        func need(_ count: Int) throws {
            guard arguments.count == count else {
                throw GoTemplate.ParseError(description: "template: wrong number of args for \(name): want \(count) got \(arguments.count)")
            }
        }
        func text(_ index: Int) -> String { Self.format(arguments[index]) }
        switch name {
        case "json":
            try need(1)
            return .value(.string(Self.json(arguments[0].json)))
        case "upper": try need(1); return .value(.string(text(0).uppercased()))
        case "lower": try need(1); return .value(.string(text(0).lowercased()))
        case "title": try need(1); return .value(.string(text(0).capitalized))
        case "len":
            try need(1)
            switch arguments[0].json {
            case let .array(array): return .value(.int(Int64(array.count)))
            case let .object(object): return .value(.int(Int64(object.count)))
            case let .string(string): return .value(.int(Int64(string.utf8.count)))
            default: throw GoTemplate.ParseError(description: "template: len of \(text(0))")
            }
        case "join":
            try need(2)
            let items = arguments[0].json.array ?? []
            return .value(.string(items.map { Self.format(.value($0)) }.joined(separator: text(1))))
        case "split":
            try need(2)
            return .value(.array(text(0).components(separatedBy: text(1)).map(JSONValue.string)))
        case "index":
            guard var current = arguments.first?.json else { throw GoTemplate.ParseError(description: "template: index of nothing") }
            for key in arguments.dropFirst() {
                switch (current, key.json) {
                case let (.array(array), .int(position)):
                    guard position >= 0, Int(position) < array.count else {
                        throw GoTemplate.ParseError(description: "template: index out of range: \(position)")
                    }
                    current = array[Int(position)]
                case let (.object(object), .string(name)):
                    guard let next = object[name] else { return .missing }
                    current = next
                default:
                    throw GoTemplate.ParseError(description: "template: can't index item of type \(Self.typeName(current))")
                }
            }
            return .value(current)
        case "println": return .value(.string(arguments.map { Self.format($0) }.joined(separator: " ") + "\n"))
        case "print": return .value(.string(arguments.map { Self.format($0) }.joined()))
        case "printf":
            guard let format = arguments.first?.json.string else { throw GoTemplate.ParseError(description: "template: printf needs a format") }
            return .value(.string(Self.printf(format, Array(arguments.dropFirst()))))
        case "truncate":
            try need(2)
            let length = Int(arguments[1].json.int ?? 0)
            return .value(.string(String(text(0).prefix(length))))
        case "eq", "ne":
            guard arguments.count >= 2 else { throw GoTemplate.ParseError(description: "template: \(name) needs two arguments") }
            let equal = arguments.dropFirst().contains { Self.format($0) == text(0) }
            return .value(.bool(name == "eq" ? equal : !equal))
        case "not": try need(1); return .value(.bool(!Self.truthy(arguments[0])))
        case "and": return arguments.first { !Self.truthy($0) } ?? arguments.last ?? .value(.bool(true))
        case "or": return arguments.first { Self.truthy($0) } ?? arguments.last ?? .value(.bool(false))
        default:
            throw GoTemplate.ParseError(description: "template: function \"\(name)\" not defined")
        }
    }

    static func truthy(_ value: Value) -> Bool {
        switch value.json {
        case .null: return false
        case let .bool(flag): return flag
        case let .int(number): return number != 0
        case let .double(number): return number != 0
        case let .string(text): return !text.isEmpty
        case let .array(array): return !array.isEmpty
        case let .object(object): return !object.isEmpty
        }
    }

    /// Go's `%v`.
    static func format(_ value: Value) -> String {
        guard case let .value(json) = value else { return "<no value>" }
        switch json {
        case .null: return "<nil>"
        case let .bool(flag): return flag ? "true" : "false"
        case let .int(number): return String(number)
        case let .double(number): return number == number.rounded() && abs(number) < 1e21 ? String(Int64(number)) : String(number)
        case let .string(text): return text
        case let .array(array): return "[" + array.map { format(.value($0)) }.joined(separator: " ") + "]"
        case let .object(object):
            return "map[" + object.keys.sorted().map { "\($0):\(format(.value(object[$0]!)))" }.joined(separator: " ") + "]"
        }
    }

    static func json(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .string: return "string"
        case .int, .double: return "float64"
        case .bool: return "bool"
        case .array: return "[]interface {}"
        case .object: return "map[string]interface {}"
        case .null: return "<nil>"
        }
    }

    /// `%s`, `%d`, `%v`, `%q` and `%%`: what `--format` users reach for.
    static func printf(_ format: String, _ arguments: [Value]) -> String {
        var output = ""
        var remaining = arguments[...]
        var characters = Array(format).makeIterator()
        while let character = characters.next() {
            guard character == "%" else { output.append(character); continue }
            guard let verb = characters.next() else { output.append("%"); break }
            if verb == "%" { output.append("%"); continue }
            guard let argument = remaining.popFirst() else { output += "%!\(verb)(MISSING)"; continue }
            output += verb == "q" ? json(.string(self.format(argument))) : self.format(argument)
        }
        return output
    }
}
