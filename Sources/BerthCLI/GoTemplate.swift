import BerthAPITypes
import Foundation

/// The subset of Go's `text/template` that docker's `--format` users write: fields and nested
/// fields, `{{json .X}}`, `{{range}}`/`{{if}}`/`{{with}}` with `{{else}}`, `index`, `join`,
/// `upper`, `lower`, `title`, `len`, `println`, `printf`, `split`, `eq`/`ne`/`not`/`and`/`or`,
/// pipes, parentheses and `{{-`/`-}}` trimming. Values are JSON, as the API returns them.
public struct GoTemplate: Sendable {
    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    indirect enum Node: Sendable {
        case text(String)
        case action(Expression)
        case range(Expression, [Node], else: [Node])
        case conditional(Expression, [Node], else: [Node])
        case with(Expression, [Node], else: [Node])
    }

    indirect enum Expression: Sendable {
        case field(base: Expression?, path: [String])   // `.A.B`, `(x).A`, `$.A`
        case dot
        case root
        case string(String)
        case number(Double)
        case bool(Bool)
        case call(String, [Expression])
        case pipe(Expression, Expression)               // `x | f` appends x as the last argument of f
    }

    let nodes: [Node]

    public init(_ source: String) throws {
        var parser = Parser(tokens: try Lexer.tokenize(source))
        nodes = try parser.parseList(until: [])
        if let extra = parser.peekKeyword() { throw ParseError(description: "template: unexpected {{\(extra)}}") }
    }

    /// Renders the template against `data` (the value of `.`).
    public func render(_ data: JSONValue) throws -> String {
        var output = ""
        try Evaluator(root: data).run(nodes, dot: data, into: &output)
        return output
    }
}

// MARK: Lexing

enum TemplateToken: Equatable {
    case text(String)
    case action([String])   // the words of one `{{ … }}`, strings kept quoted
}

enum Lexer {
    static func tokenize(_ source: String) throws -> [TemplateToken] {
        var tokens: [TemplateToken] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            var text = String(rest[..<open.lowerBound])
            var inner = rest[open.upperBound...]
            guard let close = inner.range(of: "}}") else { throw GoTemplate.ParseError(description: "template: unclosed action") }
            var body = String(inner[..<close.lowerBound])
            if body.hasPrefix("-") && (body.count == 1 || body.dropFirst().first?.isWhitespace == true) {
                body.removeFirst()
                while text.last?.isWhitespace == true { text.removeLast() }
            }
            var trimAfter = false
            if body.hasSuffix("-") && (body.count == 1 || body.dropLast().last?.isWhitespace == true) {
                body.removeLast()
                trimAfter = true
            }
            if !text.isEmpty { tokens.append(.text(text)) }
            inner = inner[close.upperBound...]
            if trimAfter { inner = inner.drop { $0.isWhitespace } }
            rest = inner
            let trimmed = body.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("/*") { continue }
            tokens.append(.action(try words(trimmed)))
        }
        if !rest.isEmpty { tokens.append(.text(String(rest))) }
        return tokens
    }

    /// Splits an action into words: quoted strings (kept with quotes), `(`, `)`, `|`, and the rest by blanks.
    static func words(_ body: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var iterator = Array(body).makeIterator()
        func flush() { if !current.isEmpty { words.append(current); current = "" } }
        while let character = iterator.next() {
            switch character {
            case "\"", "`":
                flush()
                var literal = String(character)
                var closed = false
                while let next = iterator.next() {
                    literal.append(next)
                    if next == "\\", character == "\"", let escaped = iterator.next() { literal.append(escaped); continue }
                    if next == character { closed = true; break }
                }
                guard closed else { throw GoTemplate.ParseError(description: "template: unterminated quoted string") }
                words.append(literal)
            case "(", ")", "|":
                flush()
                words.append(String(character))
            case " ", "\t", "\n":
                flush()
            default:
                current.append(character)
            }
        }
        flush()
        return words
    }
}

// MARK: Parsing

struct Parser {
    var tokens: [TemplateToken]
    var position = 0

    init(tokens: [TemplateToken]) { self.tokens = tokens }

    func peekKeyword() -> String? {
        guard position < tokens.count, case let .action(words) = tokens[position] else { return nil }
        return words.first
    }

    /// Nodes up to one of the `terminators` keywords (left unconsumed).
    mutating func parseList(until terminators: Set<String>) throws -> [GoTemplate.Node] {
        var nodes: [GoTemplate.Node] = []
        while position < tokens.count {
            switch tokens[position] {
            case let .text(text):
                nodes.append(.text(text))
                position += 1
            case let .action(words):
                guard let keyword = words.first else { throw GoTemplate.ParseError(description: "template: missing value for command") }
                if terminators.contains(keyword) { return nodes }
                if keyword == "end" || keyword == "else" { throw GoTemplate.ParseError(description: "template: unexpected {{\(keyword)}}") }
                position += 1
                switch keyword {
                case "range", "if", "with":
                    nodes.append(try parseBlock(keyword, Array(words.dropFirst())))
                default:
                    nodes.append(.action(try parseExpression(words)))
                }
            }
        }
        if !terminators.isEmpty { throw GoTemplate.ParseError(description: "template: unexpected EOF") }
        return nodes
    }

    private mutating func parseBlock(_ keyword: String, _ words: [String]) throws -> GoTemplate.Node {
        var words = words
        // `range $i, $e := .X` and `with $x := .X`: the variables are not supported, the pipeline is.
        if let assign = words.firstIndex(of: ":=") { words = Array(words[(assign + 1)...]) }
        let condition = try parseExpression(words)
        let body = try parseList(until: ["else", "end"])
        var elseBody: [GoTemplate.Node] = []
        if case let .action(next) = tokens[position], next.first == "else" {
            position += 1
            if next.count > 1, next[1] == "if" {
                // `{{else if X}}`: a nested conditional sharing this block's `{{end}}`.
                elseBody = [try parseBlock("if", Array(next.dropFirst(2)))]
                return make(keyword, condition, body, elseBody)
            }
            elseBody = try parseList(until: ["end"])
        }
        position += 1  // `end`
        return make(keyword, condition, body, elseBody)
    }

    private func make(_ keyword: String, _ condition: GoTemplate.Expression, _ body: [GoTemplate.Node], _ elseBody: [GoTemplate.Node]) -> GoTemplate.Node {
        switch keyword {
        case "range": return .range(condition, body, else: elseBody)
        case "with": return .with(condition, body, else: elseBody)
        default: return .conditional(condition, body, else: elseBody)
        }
    }

    func parseExpression(_ words: [String]) throws -> GoTemplate.Expression {
        var index = 0
        let expression = try parsePipeline(words, &index)
        if index != words.count { throw GoTemplate.ParseError(description: "template: unexpected \"\(words[index])\" in command") }
        return expression
    }

    private func parsePipeline(_ words: [String], _ index: inout Int) throws -> GoTemplate.Expression {
        var expression = try parseCommand(words, &index)
        while index < words.count, words[index] == "|" {
            index += 1
            expression = .pipe(expression, try parseCommand(words, &index))
        }
        return expression
    }

    private func parseCommand(_ words: [String], _ index: inout Int) throws -> GoTemplate.Expression {
        guard index < words.count else { throw GoTemplate.ParseError(description: "template: missing value for command") }
        let first = words[index]
        if first.first?.isLetter == true, !["true", "false", "nil"].contains(first) {
            index += 1
            var arguments: [GoTemplate.Expression] = []
            while index < words.count, words[index] != "|", words[index] != ")" {
                arguments.append(try parseOperand(words, &index))
            }
            return .call(first, arguments)
        }
        return try parseOperand(words, &index)
    }

    private func parseOperand(_ words: [String], _ index: inout Int) throws -> GoTemplate.Expression {
        let word = words[index]
        index += 1
        if word == "(" {
            let inner = try parsePipeline(words, &index)
            guard index < words.count, words[index] == ")" else { throw GoTemplate.ParseError(description: "template: unclosed left paren") }
            index += 1
            // `(index .X 0).Field`
            if index < words.count, words[index].hasPrefix(".") {
                let path = words[index].split(separator: ".").map(String.init)
                index += 1
                return .field(base: inner, path: path)
            }
            return inner
        }
        if word == "." { return .dot }
        if word == "$" { return .root }
        if word.hasPrefix("$.") { return .field(base: .root, path: word.dropFirst(2).split(separator: ".").map(String.init)) }
        if word.hasPrefix(".") { return .field(base: nil, path: word.split(separator: ".").map(String.init)) }
        if word.hasPrefix("\"") { return .string(try Self.unquote(word)) }
        if word.hasPrefix("`") { return .string(String(word.dropFirst().dropLast())) }
        if word == "true" || word == "false" { return .bool(word == "true") }
        if let number = Double(word) { return .number(number) }
        if word.first?.isLetter == true { return .call(word, []) }
        throw GoTemplate.ParseError(description: "template: unexpected \"\(word)\"")
    }

    static func unquote(_ literal: String) throws -> String {
        guard let data = literal.data(using: .utf8), let text = try? JSONDecoder().decode(String.self, from: data) else {
            throw GoTemplate.ParseError(description: "template: invalid string \(literal)")
        }
        return text
    }
}
