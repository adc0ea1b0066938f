/// Linux's CPU and memory-node lists (`0-3,5`), as cpusets take them.
public enum CPUList {
    /// The numbers in `text`; nil unless it is a list of numbers and ascending ranges.
    public static func parse(_ text: String) -> Set<Int>? {
        var numbers: Set<Int> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]),
                  low >= 0, low <= high, high < 65536 else { return nil }
            numbers.formUnion(low...high)
        }
        return numbers
    }
}
