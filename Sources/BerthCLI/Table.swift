import BerthAPITypes
import Foundation

/// Docker's table output: Go's tabwriter with minimum cell width 10, padding 3, spaces (a cell
/// before an empty last one is padded too, so such lines end in spaces, as docker's do).
struct Table {
    static func render(_ rows: [[String]], minWidth: Int = 10) -> String {
        var widths: [Int] = []
        for row in rows {
            for (column, cell) in row.dropLast().enumerated() {
                let width = max(cell.count + 3, minWidth)
                if column < widths.count { widths[column] = max(widths[column], width) } else { widths.append(width) }
            }
        }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined()
        }.joined(separator: "\n") + (rows.isEmpty ? "" : "\n")
    }
}

/// A `--format` value: `table …` (header row plus aligned columns), `json`, or a plain template.
struct OutputFormat {
    let template: GoTemplate?
    let isTable: Bool
    let isJSON: Bool
    /// Column headers for the table directive, by field name.
    let headers: [String: String]
    let source: String

    init(_ format: String, headers: [String: String]) throws {
        self.headers = headers
        isJSON = format == "json"
        isTable = format.hasPrefix("table")
        var text = isTable ? String(format.dropFirst(5)).trimmingCharacters(in: .whitespaces) : format
        text = text.replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(of: "\\n", with: "\n")
        source = text
        do { template = isJSON ? nil : try GoTemplate(text) } catch {
            throw CLIError.message("\(error)", code: 125)
        }
    }

    /// The header line of a table: the template rendered over the column titles, as docker
    /// renders it (a field without a title is empty, so `{{if .Current}} *{{end}}` adds nothing).
    var headerRow: String {
        if let template, let header = try? template.render(.object(headers.mapValues(JSONValue.string))) { return header }
        var header = source
        for (field, title) in headers { header = header.replacingOccurrences(of: "{{.\(field)}}", with: title) }
        return header
    }

    func render(_ rows: [JSONValue]) throws -> String {
        if isJSON { return rows.map { Evaluator.json($0) + "\n" }.joined() }
        guard let template else { return "" }
        let lines = try rows.map { try template.render($0) }
        if isTable {
            let cells = ([headerRow] + lines).map { $0.components(separatedBy: "\t") }
            return Table.render(cells)
        }
        return lines.map { $0 + "\n" }.joined()
    }
}

/// Sizes and times as docker prints them.
enum Human {
    /// `units.HumanSizeWithPrecision(n, digits)`: decimal units, 3 significant digits by default
    /// ("1.98MB", "11B"); `units.HumanSize` is 4.
    static func size(_ bytes: Int64, digits: Int = 3) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
        return significant(value, digits) + units[unit]
    }

    /// Go's `%.*g`: `digits` significant digits, no trailing zeros.
    static func significant(_ value: Double, _ digits: Int) -> String {
        if value == 0 { return "0" }
        let magnitude = Int(floor(log10(abs(value)))) + 1
        let decimals = max(0, digits - magnitude)
        let factor = pow(10, Double(decimals))
        var text = String((value * factor).rounded() / factor)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    static func ago(_ unixSeconds: Int64) -> String {
        HumanDuration.describe(Date().timeIntervalSince1970 - Double(unixSeconds)) + " ago"
    }

    static func shortID(_ id: String) -> String {
        String((id.hasPrefix("sha256:") ? String(id.dropFirst(7)) : id).prefix(12))
    }
}
