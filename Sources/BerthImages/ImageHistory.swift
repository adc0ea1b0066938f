import BerthOCI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One line of `docker history`: newest first, like `GET /images/{name}/history`.
public struct ImageHistoryEntry: Sendable, Equatable {
    /// The image ID on the newest entry, `<missing>` on the others (as Docker shows them).
    public var id: String
    public var created: String?
    public var createdBy: String
    public var tags: [String]
    /// Unpacked size of the layer this step made; 0 for steps that made none.
    public var size: Int64
    public var comment: String
}

extension ImageStore {
    /// The image's build steps with their layer sizes, newest first.
    public func history(_ image: ImageRecord) throws -> [ImageHistoryEntry] {
        let config = try self.config(image)
        var layers = image.chain.makeIterator()
        // Images without history (imported tarballs of some tools) get one entry per layer.
        let steps = config.history ?? image.chain.map { _ in ImageConfig.History() }
        var entries = steps.map { step -> ImageHistoryEntry in
            let size = step.emptyLayer == true ? 0 : layers.next().map(snapshots.layerSize) ?? 0
            return ImageHistoryEntry(id: "<missing>", created: step.created, createdBy: step.createdBy ?? "", tags: [],
                                     size: size, comment: step.comment ?? "")
        }
        entries.reverse()
        if !entries.isEmpty {
            entries[0].id = image.id.description
            entries[0].tags = image.tags
        }
        return entries
    }
}
