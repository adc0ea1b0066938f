import BerthDigest
import BerthOCI

/// Chain IDs name a layer together with everything below it (OCI image spec, config.md):
/// `chain(L0) = diff(L0)`, `chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln))`.
/// Two images that share their bottom layers share these IDs, and so their snapshots.
public enum ChainID {
    public static func chain(_ diffIDs: [Digest]) -> [Digest] {
        var result: [Digest] = []
        for diff in diffIDs {
            if let previous = result.last {
                result.append(Digest.sha256(of: Array("\(previous) \(diff)".utf8)))
            } else {
                result.append(diff)
            }
        }
        return result
    }
}
