import BerthAPITypes
import BerthOCI
import BerthSystem
import BerthVolumes
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One `HostConfig.Mounts` entry (`--mount type=bind|volume|tmpfs,…`), checked as dockerd
/// checks it.
struct MountSpecification: Equatable {
    enum Kind: Equatable {
        /// `recursiveReadOnly`: nil for dockerd's default (recursive where the kernel can), false
        /// for `ReadOnlyNonRecursive`, true for `ReadOnlyForceRecursive`.
        case bind(source: String, propagation: String, nonRecursive: Bool, recursiveReadOnly: Bool?)
        case tmpfs(sizeBytes: Int64?, mode: UInt32?)
        /// A volume (name empty: anonymous), mounted from the container's `volumeMounts`; the
        /// driver options make it when it does not exist.
        case volume(name: String, noCopy: Bool, subpath: String?, labels: [String: String], options: [String: String])
        /// An image's file tree, read-only (Docker 28's `--mount type=image`).
        case image(reference: String, subpath: String?)
    }

    let kind: Kind
    let target: String
    let readOnly: Bool

    init(_ mount: Mount) throws {
        let type = mount.type ?? ""
        guard let target = mount.target, !target.isEmpty else {
            throw EngineError(.badRequest, "invalid mount config for type \"\(type)\": field Target must not be empty")
        }
        guard target.hasPrefix("/") else {
            throw EngineError(.badRequest, "invalid mount config for type \"\(type)\": invalid mount path: '\(target)' mount path must be absolute")
        }
        self.target = target
        readOnly = mount.readOnly ?? false
        let source = mount.source ?? ""
        switch type {
        case "bind":
            guard !source.isEmpty else { throw EngineError(.badRequest, "invalid mount config for type \"bind\": field Source must not be empty") }
            guard source.hasPrefix("/") else {
                throw EngineError(.badRequest, "invalid mount config for type \"bind\": invalid mount path: '\(source)' mount path must be absolute")
            }
            if mount.tmpfsOptions != nil || mount.volumeOptions != nil {
                throw EngineError(.badRequest, "invalid mount config for type \"bind\": field \(mount.tmpfsOptions != nil ? "TmpfsOptions" : "VolumeOptions") must not be specified")
            }
            let options = mount.bindOptions ?? MountBindOptions()
            if !(options.createMountpoint ?? false) && !FileManager.default.fileExists(atPath: source) {
                throw EngineError(.badRequest, "invalid mount config for type \"bind\": bind source path does not exist: \(source)")
            }
            let propagation = options.propagation.flatMap { $0.isEmpty ? nil : $0 } ?? "rprivate"
            guard BindSpecification.propagations.contains(propagation) else {
                throw EngineError(.badRequest, "invalid mount config for type \"bind\": invalid propagation mode: \(propagation)")
            }
            let nonRecursiveRO = options.readOnlyNonRecursive ?? false, forcedRO = options.readOnlyForceRecursive ?? false
            if (nonRecursiveRO || forcedRO) && !readOnly {
                throw EngineError(.badRequest, "invalid mount config for type \"bind\": option '\(nonRecursiveRO ? "ReadOnlyNonRecursive" : "ReadOnlyForceRecursive")' requires 'ReadOnly' to be true")
            }
            if nonRecursiveRO && forcedRO {
                throw EngineError(.badRequest, "invalid mount config for type \"bind\": cannot use 'ReadOnlyNonRecursive' and 'ReadOnlyForceRecursive' together")
            }
            if forcedRO && !HostFacts.current.recursiveReadOnly {
                throw EngineError(.badRequest, "invalid mount config for type \"bind\": recursive read-only bind mounts need Linux 5.12 or later")
            }
            kind = .bind(source: source, propagation: propagation, nonRecursive: options.nonRecursive ?? false,
                         recursiveReadOnly: nonRecursiveRO ? false : forcedRO ? true : nil)
        case "tmpfs":
            guard source.isEmpty else { throw EngineError(.badRequest, "invalid mount config for type \"tmpfs\": field Source must not be specified") }
            let options = mount.tmpfsOptions ?? MountTmpfsOptions()
            if let extra = options.options, !extra.isNull, !(extra.array ?? []).isEmpty {
                throw EngineError(.badRequest, "TmpfsOptions.Options is not supported by Berth yet (HostConfig.Mounts)")
            }
            let size = options.sizeBytes
            if let size, size < 0 { throw EngineError(.badRequest, "invalid mount config for type \"tmpfs\": invalid tmpfs size \(size)") }
            let mode = options.mode
            if let mode, !(0...0o7777).contains(mode) { throw EngineError(.badRequest, "invalid mount config for type \"tmpfs\": invalid tmpfs mode \(mode)") }
            kind = .tmpfs(sizeBytes: size.flatMap { $0 > 0 ? $0 : nil }, mode: mode.map { UInt32($0) })
        case "volume":
            if mount.bindOptions != nil || mount.tmpfsOptions != nil {
                throw EngineError(.badRequest, "invalid mount config for type \"volume\": field \(mount.bindOptions != nil ? "BindOptions" : "TmpfsOptions") must not be specified")
            }
            if !source.isEmpty && !VolumeRecord.isValidName(source) {
                throw EngineError(.badRequest, "invalid mount config for type \"volume\": invalid volume name \(source): only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
            }
            let options = mount.volumeOptions ?? MountVolumeOptions()
            if let driver = options.driverConfig?.name, !["", "local"].contains(driver) {
                throw EngineError(.badRequest, "invalid mount config for type \"volume\": volume driver \(driver) is not supported by Berth (only local)")
            }
            let driverOptions = options.driverConfig?.options ?? [:]
            do { _ = try LocalDriverOptions(driverOptions) } catch {
                throw EngineError(.badRequest, "invalid mount config for type \"volume\": \(error)")
            }
            let subpath = try Self.subpath(options.subpath, type: "volume")
            kind = .volume(name: source, noCopy: options.noCopy ?? false, subpath: subpath, labels: options.labels ?? [:], options: driverOptions)
        case "image":
            guard !source.isEmpty else { throw EngineError(.badRequest, "invalid mount config for type \"image\": field Source must not be empty") }
            for (field, set) in [("BindOptions", mount.bindOptions != nil), ("TmpfsOptions", mount.tmpfsOptions != nil), ("VolumeOptions", mount.volumeOptions != nil)] where set {
                throw EngineError(.badRequest, "invalid mount config for type \"image\": field \(field) must not be specified")
            }
            kind = .image(reference: source, subpath: try Self.subpath(mount.imageOptions?.subpath, type: "image"))
        case "npipe", "cluster":
            throw EngineError(.badRequest, "mount type \"\(type)\" is not supported by Berth (HostConfig.Mounts): npipe is Windows's, cluster volumes need a swarm")
        default:
            throw EngineError(.badRequest, "invalid mount config for type \"\(type)\": mount type unknown")
        }
    }

    /// A subpath inside the volume or image: relative, never out of it.
    private static func subpath(_ given: String?, type: String) throws -> String? {
        guard let subpath = given, !subpath.isEmpty else { return nil }
        if subpath.hasPrefix("/") || subpath.split(separator: "/").contains("..") {
            throw EngineError(.badRequest, "invalid mount config for type \"\(type)\": subpath must be a relative path within the \(type)")
        }
        return subpath
    }

    /// The runtime mount; an image's is a read-only bind of `imageRoot`, where its file tree is
    /// mounted for the container.
    func mount(imageRoot: String? = nil) -> RuntimeSpec.Mount {
        switch kind {
        case let .bind(source, propagation, nonRecursive, recursiveReadOnly):
            let recursive = readOnly && !nonRecursive && (recursiveReadOnly ?? HostFacts.current.recursiveReadOnly)
            return .init(destination: target, type: "bind", source: source,
                         options: [nonRecursive ? "bind" : "rbind", readOnly ? "ro" : "rw"] + (recursive ? ["rro"] : []) + [propagation])
        case let .tmpfs(size, mode):
            var options = ["nosuid", "nodev", "noexec"] + (readOnly ? ["ro"] : [])
            if let size { options.append("size=\(size)") }
            options.append("mode=" + String(mode ?? 0o1777, radix: 8))
            return .init(destination: target, type: "tmpfs", source: "tmpfs", options: options)
        case let .image(_, subpath):
            return .init(destination: target, type: "bind", source: (imageRoot ?? "/nonexistent") + (subpath.map { "/" + $0 } ?? ""),
                         options: ["rbind", "ro", "rprivate"])
        case .volume:
            preconditionFailure("a volume is mounted from the container's volumeMounts")
        }
    }

    /// The image of a `type=image` mount.
    var imageReference: String? {
        if case let .image(reference, _) = kind { return reference }
        return nil
    }

    var isVolume: Bool { if case .volume = kind { true } else { false } }

    /// Where a bind's source must be created at start (`CreateMountpoint`).
    var sourceToCreate: String? {
        if case let .bind(source, _, _, _) = kind, !FileManager.default.fileExists(atPath: source) { return source }
        return nil
    }

    var rootPropagation: String? {
        guard case let .bind(_, propagation, _, _) = kind else { return nil }
        return BindSpecification.rootPropagation(for: propagation)
    }

    var bindSource: String? {
        guard case let .bind(source, _, _, _) = kind else { return nil }
        return source
    }

    /// inspect's `Mounts` entry.
    var inspectEntry: MountPoint {
        var point = MountPoint()
        point.destination = target
        point.mode = ""
        point.rw = !readOnly
        switch kind {
        case let .bind(source, propagation, _, _):
            point.type = "bind"
            point.source = source
            point.propagation = propagation
        case .tmpfs:
            point.type = "tmpfs"
            point.source = ""
            point.propagation = ""
        case let .image(reference, _):
            point.type = "image"
            point.source = reference
            point.rw = false
            point.propagation = "rprivate"
        case .volume:
            preconditionFailure("a volume's entry comes from the container's volumeMounts")
        }
        return point
    }
}
