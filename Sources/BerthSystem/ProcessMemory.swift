import CBerthSystem
import Glibc

/// Giving memory back to the kernel while a long-running process has nothing to do.
public enum ProcessMemory {
    /// Returns freed heap to the kernel, and unmaps the pages of this process's program code and
    /// read-only data (private file mappings that were never written). Those pages stay in the page
    /// cache, shared and reclaimable; the next touch maps them back with a minor fault. Mappings
    /// that hold a written (anonymous) page are left alone: dropping them would lose the write.
    /// Returns how many KiB were resident in the mappings it dropped.
    @discardableResult
    public static func releaseIdlePages() -> Int {
        _ = berth_malloc_trim()
        guard let smaps = try? SmallFile.read("/proc/self/smaps") else { return 0 }
        var clean: [(start: UInt, end: UInt, resident: Int)] = []
        var candidate: Mapping?
        var resident = 0
        for line in smaps.split(separator: "\n") {
            if let mapping = Mapping(line) {
                candidate = mapping.isUnwrittenFileMapping ? mapping : nil
                resident = 0
            } else if line.hasPrefix("Rss:") {
                resident = kib(line)
            } else if line.hasPrefix("Anonymous:"), let mapping = candidate {
                if kib(line) == 0 && resident > 0 { clean.append((mapping.start, mapping.end, resident)) }
                candidate = nil
            }
        }
        // Dropped last, all at once: parsing after the first drop would only fault its code back in.
        var released = 0
        for range in clean where berth_madvise_dontneed(UInt(range.start), Int(range.end - range.start)) == 0 {
            released += range.resident
        }
        return released
    }

    private static func kib(_ line: Substring) -> Int {
        Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }

    /// One mapping's header line: `start-end perms offset dev inode path`.
    private struct Mapping {
        let start: UInt
        let end: UInt
        let permissions: Substring
        let path: Substring

        init?(_ line: Substring) {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5, let dash = fields[0].firstIndex(of: "-"),
                  let start = UInt(fields[0][..<dash], radix: 16), let end = UInt(fields[0][fields[0].index(after: dash)...], radix: 16)
            else { return nil }
            self.start = start
            self.end = end
            permissions = fields[1]
            path = fields.count == 6 ? fields[5].drop(while: { $0 == " " }) : ""
        }

        /// Private, not writable, backed by a file (not [vdso] and the like).
        var isUnwrittenFileMapping: Bool { (permissions == "r-xp" || permissions == "r--p") && path.hasPrefix("/") }
    }
}
