/// Docker's detach key specifications, shared by the server and the CLI.
public enum DetachKeys {
    /// `ctrl-p,ctrl-q` → [0x10, 0x11]; `nil` for an invalid specification.
    public static func parse(_ text: String) -> [UInt8]? {
        var keys: [UInt8] = []
        for part in text.split(separator: ",") {
            let lower = part.lowercased()
            if lower.hasPrefix("ctrl-"), lower.count == 6, let c = lower.last?.asciiValue {
                switch c {
                case 97...122: keys.append(c - 96)  // ctrl-a … ctrl-z
                case 64: keys.append(0)  // ctrl-@
                case 91...95: keys.append(c - 64)  // ctrl-[ \ ] ^ _
                default: return nil
                }
            } else if part.count == 1, let c = part.first?.asciiValue {
                keys.append(c)
            } else {
                return nil
            }
        }
        return keys
    }
}
