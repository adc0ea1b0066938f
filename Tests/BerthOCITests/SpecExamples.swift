import Foundation
import Testing

/// JSON examples from the OCI specs in `../shared/specs` (next to the checkout), when present.
enum SpecExamples {
    static let specsRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/../shared/specs"
    }()

    /// Whether the spec pages are next to the checkout (a developer's machine has them; a CI
    /// clone does not, and the tests that read them are skipped there, visibly, not passed).
    static var available: Bool { FileManager.default.fileExists(atPath: specsRoot + "/oci-image/manifest.md") }
    static let absentReason: Comment = "the OCI spec pages (../shared/specs) are not next to this checkout"

    /// The ```json blocks of a spec page that `include` selects; a missing page or one without
    /// such a block fails: a round-trip over nothing proves nothing.
    static func requireBlocks(_ relativePath: String, _ include: (String) -> Bool) throws -> [String] {
        let blocks = jsonBlocks(relativePath).filter(include)
        try #require(!blocks.isEmpty, "no JSON example found in \(relativePath)")
        return blocks
    }

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
