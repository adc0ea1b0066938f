import BerthAPITypes
import BerthVolumes
import Foundation

/// Volumes: the `/volumes` API (create, list, inspect, remove, prune, as dockerd answers them),
/// a container's volumes at its create (named ones made when missing, anonymous ones for
/// `-v /path`, `--mount type=volume` without a source and the image's `VOLUME`s), their copy-up
/// at its start, and the anonymous ones' removal with it (`rm -v`, `--rm`).
extension ContainerEngine {
    // MARK: Containers

    /// The container's volumes, made now where missing. `created` lists the anonymous ones
    /// made, for the caller to remove if the create fails after all.
    func resolveVolumes(_ host: HostConfig, _ config: ContainerConfig, imageVolumes: [String]) throws -> (mounts: [VolumeMount], created: [String], new: [String]) {
        var mounts: [VolumeMount] = []
        var covered = Set<String>()
        for bind in try SpecBuilder.binds(host) {
            covered.insert(Self.cleanDestination(bind.destination))
            guard bind.isVolume else { continue }
            let options = bind.mode.split(separator: ",")
            mounts.append(VolumeMount(name: bind.source, destination: bind.destination, readOnly: bind.readOnly, anonymous: bind.source.isEmpty,
                                      copyUp: !options.contains("nocopy"), mode: bind.source.isEmpty ? "" : (bind.mode.isEmpty ? "z" : bind.mode)))
        }
        // What a --mount gives a volume it makes, by the mount's index.
        var settings: [Int: (labels: [String: String], options: [String: String])] = [:]
        for entry in try SpecBuilder.mountEntries(host) {
            covered.insert(Self.cleanDestination(entry.target))
            guard case let .volume(name, noCopy, subpath, entryLabels, options) = entry.kind else { continue }
            settings[mounts.count] = (entryLabels, options)
            mounts.append(VolumeMount(name: name, destination: entry.target, readOnly: entry.readOnly, anonymous: name.isEmpty,
                                      copyUp: !noCopy, subpath: subpath, mode: "z"))
        }
        covered.formUnion((host.tmpfs ?? [:]).keys.map(Self.cleanDestination))
        // --volumes-from: the other containers' volumes, where this one mounts nothing itself.
        for text in host.volumesFrom ?? [] {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            let mode = parts.count > 1 ? parts[1] : "rw"
            guard ["rw", "ro"].contains(mode) else { throw EngineError(.badRequest, "invalid mode for volumes-from: \(mode)") }
            guard let id = try? resolve(parts[0]), let source = containers[id] else {
                throw EngineError(.notFound, "No such container: \(parts[0])")
            }
            // dockerd shares its binds too (its tmpfs mounts not): refused rather than left out.
            let hostBinds = try SpecBuilder.binds(source.hostConfig).contains { !$0.isVolume }
            let bindMounts = try SpecBuilder.mountEntries(source.hostConfig).contains { $0.bindSource != nil }
            if hostBinds || bindMounts {
                throw EngineError(.badRequest, "--volumes-from \(parts[0]): its bind mounts are not shared by Berth yet, only its volumes (HostConfig.VolumesFrom)")
            }
            for volume in source.volumeMounts ?? [] where !covered.contains(Self.cleanDestination(volume.destination)) {
                covered.insert(Self.cleanDestination(volume.destination))
                var shared = volume
                shared.readOnly = volume.readOnly || mode == "ro"
                shared.copyUp = false
                mounts.append(shared)
            }
        }
        for destination in Set((config.volumes ?? []) + imageVolumes).sorted() where !covered.contains(Self.cleanDestination(destination)) {
            mounts.append(VolumeMount(name: "", destination: destination, readOnly: false, anonymous: true, copyUp: true))
        }
        var created: [String] = [], new: [String] = []
        do {
            for index in mounts.indices {
                if mounts[index].anonymous && mounts[index].name.isEmpty {
                    mounts[index].name = ContainerRecord.newID()
                    created.append(mounts[index].name)
                }
                // dockerd's mark of an anonymous volume, which `volume prune` goes by.
                let volume = VolumeRecord(name: mounts[index].name, createdAt: Date().rfc3339Nano,
                                          labels: mounts[index].anonymous ? ["com.docker.volume.anonymous": ""] : settings[index]?.labels ?? [:],
                                          options: settings[index]?.options ?? [:], anonymous: mounts[index].anonymous)
                if try volumes.get(volume.name) == nil { new.append(volume.name) }
                do { _ = try volumes.create(volume) } catch let error as VolumeOptionError {
                    throw EngineError(.badRequest, "create \(volume.name): \(error)")
                }
                if let subpath = mounts[index].subpath, !FileManager.default.fileExists(atPath: volumes.mountpoint(volume.name) + "/" + subpath) {
                    throw EngineError(.badRequest, "invalid mount config for type \"volume\": cannot access path \(subpath) in volume \(volume.name): no such file or directory")
                }
            }
        } catch {
            for name in created { try? volumes.remove(name) }
            throw error
        }
        return (mounts, created, new)
    }

    static func cleanDestination(_ path: String) -> String {
        "/" + path.split(separator: "/").joined(separator: "/")
    }

    /// At a start, before the container runs: volumes with driver options mounted, and each
    /// empty volume mounted where the image has content gets that content (owners, modes, times,
    /// xattrs), unless `nocopy`.
    nonisolated func copyUp(_ record: ContainerRecord, rootfs: String) throws {
        // A volume with driver options is its device's mount, made at its first use.
        for mount in record.volumeMounts ?? [] {
            guard let volume = try volumes.get(mount.name) else { throw EngineError(.notFound, "get \(mount.name): no such volume") }
            do { try volumes.mountIfNeeded(volume) } catch {
                throw EngineError(.internalError, "error while mounting volume '\(volumes.mountpoint(mount.name))': \(error)")
            }
        }
        for mount in record.volumeMounts ?? [] where mount.copyUp && mount.subpath == nil && volumes.isEmpty(mount.name) {
            let source = rootfs + Self.cleanDestination(mount.destination)
            var info = stat()
            guard lstat(source, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { continue }
            let result = Subprocess.runBlocking(["/bin/cp", "-a", "--", source + "/.", volumes.mountpoint(mount.name) + "/"])
            guard result.status == 0 else {
                throw EngineError(.internalError, "copy the image's \(mount.destination) into volume \(mount.name): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
    }

    /// After a container stopped: each volume with driver options that no running container
    /// uses any more is unmounted (dockerd's local driver counts its users the same way).
    func releaseVolumes(of record: ContainerRecord) {
        for mount in record.volumeMounts ?? [] where volumes.isMounted(mount.name) {
            let inUse = containers.values.contains { other in
                other.id != record.id && (other.state.running || other.state.status == .restarting)
                    && (other.volumeMounts ?? []).contains { $0.name == mount.name }
            }
            if !inUse { EngineLog.attempt("unmount volume \(mount.name)") { try volumes.unmount(mount.name) } }
        }
    }

    /// After a container's removal with `rm -v` or `--rm`: its anonymous volumes no other
    /// container uses.
    func removeAnonymousVolumes(of record: ContainerRecord) async {
        for mount in record.volumeMounts ?? [] where mount.anonymous && users(of: mount.name).isEmpty {
            EngineLog.attempt("remove volume \(mount.name) of \(record.name)") { try volumes.remove(mount.name) }
            await events.publish("volume", "destroy", id: mount.name, attributes: ["driver": "local"])
        }
    }

    /// The containers (running or not) that have volume `name`.
    func users(of name: String) -> [String] {
        containers.values.filter { $0.volumeMounts?.contains { $0.name == name } ?? false }.map(\.id).sorted()
    }

    // MARK: API

    /// `POST /volumes/create`: a local volume (a random name when none is given); creating an
    /// existing one returns it.
    public func createVolume(name requested: String?, driver: String?, options: [String: String], labels: [String: String]) async throws -> JSONValue {
        let name = requested.flatMap { $0.isEmpty ? nil : $0 } ?? ContainerRecord.newID()
        guard VolumeRecord.isValidName(name) else {
            throw EngineError(.badRequest, "create \(name): \"\(name)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")
        }
        if let driver, !["", "local"].contains(driver) {
            throw EngineError(.notFound, "create \(name): error looking up volume plugin \(driver): plugin \"\(driver)\" not found")
        }
        let existed = try volumes.get(name) != nil
        let volume: VolumeRecord
        do { volume = try volumes.create(VolumeRecord(name: name, createdAt: Date().rfc3339Nano, labels: labels, options: options)) } catch let error as VolumeOptionError {
            throw EngineError(.badRequest, "create \(name): \(error)")
        }
        if !existed { await events.publish("volume", "create", id: name, attributes: ["driver": "local"]) }
        return volumeJSON(volume)
    }

    /// `GET /volumes`: with dockerd's filters `dangling`, `name`, `label`, `driver`.
    public func listVolumes(filters: [String: [String]]) throws -> JSONValue {
        var selected = try volumes.all()
        for (key, values) in filters where !values.isEmpty {
            switch key {
            case "name": selected = selected.filter { volume in values.contains { volume.name.contains($0) } }
            case "driver": selected = selected.filter { values.contains($0.driver) }
            case "label": selected = selected.filter { LabelFilter.matchAll(values, $0.labels) }
            case "dangling":
                guard let dangling = values.first.flatMap(Self.filterBool) else {
                    throw EngineError(.badRequest, "invalid filter 'dangling=\(values.first ?? "")'")
                }
                selected = selected.filter { users(of: $0.name).isEmpty == dangling }
            default: throw EngineError(.badRequest, "invalid filter '\(key)'")
            }
        }
        return .object(["Volumes": .array(selected.map { volumeJSON($0) }), "Warnings": .array([])])
    }

    static func filterBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "1": true
        case "false", "0": false
        default: nil
        }
    }

    public func inspectVolume(_ name: String) throws -> JSONValue {
        guard let volume = try volumes.get(name) else { throw EngineError(.notFound, "get \(name): no such volume") }
        return volumeJSON(volume)
    }

    /// `DELETE /volumes/{name}`: refused while a container has it (dockerd's 409); `force`
    /// makes a missing volume no error.
    public func removeVolume(_ name: String, force: Bool) async throws {
        guard try volumes.get(name) != nil else {
            if force { return }
            throw EngineError(.notFound, "get \(name): no such volume")
        }
        let users = users(of: name)
        guard users.isEmpty else { throw EngineError(.conflict, "remove \(name): volume is in use - [\(users.joined(separator: ", "))]") }
        try volumes.remove(name)
        await events.publish("volume", "destroy", id: name, attributes: ["driver": "local"])
    }

    /// `POST /volumes/prune`: the unused anonymous volumes (every unused one with `all=true`),
    /// filtered by `label`/`label!`.
    public func pruneVolumes(filters: [String: [String]]) async throws -> JSONValue {
        for key in filters.keys where !["label", "label!", "all"].contains(key) { throw EngineError(.badRequest, "invalid filter '\(key)'") }
        guard let all = Self.filterBool(filters["all"]?.first ?? "false") else {
            throw EngineError(.badRequest, "invalid filter 'all=\(filters["all"]?.first ?? "")'")
        }
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        for volume in try volumes.all() where (all || volume.anonymous) && users(of: volume.name).isEmpty {
            if let wanted = filters["label"], !LabelFilter.matchAll(wanted, volume.labels) { continue }
            if let unwanted = filters["label!"], unwanted.contains(where: { LabelFilter.matchAll([$0], volume.labels) }) { continue }
            let size = volumes.size(volume.name)
            try volumes.remove(volume.name)
            deleted.append(volume.name)
            reclaimed += size
            await events.publish("volume", "destroy", id: volume.name, attributes: ["driver": "local"])
        }
        return .object(["VolumesDeleted": deleted.isEmpty ? .null : .array(deleted.map(JSONValue.string)), "SpaceReclaimed": .int(reclaimed)])
    }

    public func volumeUsage() throws -> [JSONValue] { try volumes.all().map { volumeJSON($0, usage: true) } }

    /// Docker's volume object; `usage` adds UsageData (`system df -v`).
    func volumeJSON(_ volume: VolumeRecord, usage: Bool = false) -> JSONValue {
        var object: [String: JSONValue] = [
            "CreatedAt": .string(volume.createdAt), "Driver": .string(volume.driver),
            "Labels": volume.labels.isEmpty ? .null : .object(volume.labels.mapValues(JSONValue.string)),
            "Mountpoint": .string(volumes.mountpoint(volume.name)), "Name": .string(volume.name),
            "Options": volume.options.isEmpty ? .null : .object(volume.options.mapValues(JSONValue.string)), "Scope": .string("local"),
        ]
        if usage {
            object["UsageData"] = .object(["Size": .int(volumes.size(volume.name)), "RefCount": .int(Int64(users(of: volume.name).count))])
        }
        return .object(object)
    }
}
