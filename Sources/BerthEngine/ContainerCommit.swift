import BerthArchive
import BerthImages
import BerthOCI
import BerthSystem
import Foundation

/// `docker commit`: a container's changes as a new layer over its image.
extension ContainerEngine {
    /// The image config keys a commit carries over from the container's config.
    static let committedKeys = ["User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
                                "StopSignal", "Healthcheck", "OnBuild", "Shell"]

    public struct CommitRequest: Sendable {
        public var reference: String?
        public var comment: String?
        public var author: String?
        public var pause: Bool
        public var changes: [String]
        /// `Config` fields from the request body; they override the container's.
        public var config: JSONValue?

        public init(reference: String?, comment: String?, author: String?, pause: Bool, changes: [String], config: JSONValue?) {
            self.reference = reference
            self.comment = comment
            self.author = author
            self.pause = pause
            self.changes = changes
            self.config = config
        }
    }

    public func commit(_ reference: String, _ request: CommitRequest) async throws -> Digest {
        let id = try resolve(reference)
        let record = containers[id]!
        if let reference = request.reference, (try? ImageReference(parsing: reference)) == nil {
            throw EngineError(.badRequest, "invalid reference format: \(reference)")
        }
        var config = JSONValue.object([:])
        let recorded = record.config.json
        for key in Self.committedKeys { config[key] = recorded[key] ?? .null }
        if let overrides = request.config?.object {
            for (key, value) in overrides where Self.committedKeys.contains(key) && !value.isNull { config[key] = value }
        }
        config = try ConfigChanges.apply(request.changes, to: config)
        let imageConfig: ImageConfig.Config
        do { imageConfig = try config.decode(ImageConfig.Config.self) } catch {
            throw EngineError(.badRequest, "invalid config for commit: \(error)")
        }
        let base = try images.resolve(record.image)

        // A running container is frozen while its upper dir is read, so the layer is one instant.
        var frozen = request.pause && record.state.status == .running
        if frozen {
            try SmallFile.writeAtomically(commitFreezeMarker(id), [], durability: .immediate)
            do { try await freeze(id, true) } catch {
                unlink(commitFreezeMarker(id))
                // As dockerd: a container that is exiting cannot be paused and needs not be (the
                // runtime no longer has it, or its shim has recorded the exit already).
                let text = "\(error)"
                let exiting = containers[id]?.state.running != true || shims.shim(id).recordedExit() != nil
                    || text.contains("container not running") || text.contains("does not exist")
                guard exiting else { throw error }
                frozen = false
            }
        }
        defer { if frozen { unlink(commitFreezeMarker(id)) } }
        let layer = scratchPath("commit")
        defer { unlink(layer) }
        do {
            let upper = images.snapshots.containerChanges(id)
            let source = FileManager.default.fileExists(atPath: upper) ? upper : scratchPath("empty")
            if source != upper { try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true) }
            defer { if source != upper { try? FileManager.default.removeItem(atPath: source) } }
            _ = try await BlockingWork.run { [shift = images.snapshots.ownerShift] in try LayerDiffer(ownerShift: shift).write(directory: source, to: layer) }
        } catch {
            if frozen { await EngineLog.attempt("thaw \(record.name) after a failed commit") { try await freeze(id, false) } }
            throw EngineError(.internalError, "commit \(record.name): \(error)")
        }
        if frozen { await EngineLog.attempt("thaw \(record.name) after its commit") { try await freeze(id, false) } }

        let options = ImageStore.CommitOptions(config: imageConfig, comment: request.comment, author: request.author,
                                               createdBy: ([record.path] + record.args).joined(separator: " "),
                                               reference: request.reference)
        let imageID = try await BlockingWork.run { [images] in try images.commit(base: base, layerTar: layer, options: options) }
        await publish("commit", record, extra: ["comment": request.comment ?? "", "imageID": imageID.description,
                                                "imageRef": request.reference ?? ""])
        return imageID
    }
}
