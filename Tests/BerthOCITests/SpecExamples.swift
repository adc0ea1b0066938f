import Foundation

/// JSON examples from the OCI specs in `../shared/specs` (next to the checkout), when present.
enum SpecExamples {
    static let specsRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/../shared/specs"
    }()

    /// The ```json blocks of a spec page, in order.
    static func jsonBlocks(_ relativePath: String) -> [String] {
        guard let text = try? String(contentsOfFile: specsRoot + "/" + relativePath, encoding: .utf8) else { return [] }
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```json") { current = [] } else if line.hasPrefix("```"), let block = current {
                blocks.append(block.joined(separator: "\n"))
                current = nil
            } else if current != nil { current?.append(line) }
        }
        return blocks
    }

    /// Whether two JSON texts hold the same value (key order and spacing aside).
    static func sameJSON(_ a: Data, _ b: Data) throws -> Bool {
        let x = try JSONSerialization.jsonObject(with: a, options: .fragmentsAllowed)
        let y = try JSONSerialization.jsonObject(with: b, options: .fragmentsAllowed)
        return (x as? NSObject)?.isEqual(y) ?? false
    }
}
