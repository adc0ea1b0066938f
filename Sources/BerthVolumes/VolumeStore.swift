import BerthSystem
import Foundation
import GRDB

/// Volumes: their records in berth.db (table `volumes`, one transaction per change) and their
/// data under `root/<name>/_data`. A volume's directory is made before its row is written and
/// goes after its row is deleted, so a crash leaves at worst a directory without a row, which
/// start-up removes (`discardOrphans`).
public final class VolumeStore: Sendable {
    public let root: String
    /// Who owns a new volume's `_data`: root, or a `userns-remap` store's remapped root.
    public let owner: (uid: UInt32, gid: UInt32)
    private let db: DatabasePool

    public init(root: String, database: String, owner: (uid: UInt32, gid: UInt32) = (0, 0)) throws {
        self.root = root
        self.owner = owner
        var config = Configuration()
        // The image and network stores write to the same file from their own connections.
        config.busyMode = .timeout(10)
        db = try DatabasePool(path: database, configuration: config)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("volumes-v1") { db in
            try db.create(table: "volumes") { t in
                t.primaryKey("name", .text)
                t.column("record", .text).notNull()  // VolumeRecord as JSON
            }
        }
        try migrator.migrate(db)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// Where the volume's data is (its mountpoint, as inspect shows it).
    public func mountpoint(_ name: String) -> String { "\(root)/\(name)/_data" }

    public func get(_ name: String) throws -> VolumeRecord? {
        try db.read { db in
            try String.fetchOne(db, sql: "SELECT record FROM volumes WHERE name = ?", arguments: [name]).map(Self.decode)
        }
    }

    public func all() throws -> [VolumeRecord] {
        try db.read { db in try String.fetchAll(db, sql: "SELECT record FROM volumes ORDER BY name").map(Self.decode) }
    }

    /// Makes the volume: its directory, then its row (its driver options checked first). Returns the existing one when the name is
    /// taken (dockerd's create is idempotent for one name and driver).
    public func create(_ record: VolumeRecord) throws -> VolumeRecord {
        let options = try LocalDriverOptions(record.options)
        if let existing = try get(record.name) { return existing }
        let data = mountpoint(record.name)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        chmod("\(root)/\(record.name)", 0o701)
        if owner != (0, 0) { chown(data, owner.uid, owner.gid) }
        do {
            if let bytes = options?.quota { try ProjectQuota.apply(bytes: bytes, to: data, volumesRoot: root) }
            try db.write { db in
                try db.execute(sql: "INSERT INTO volumes (name, record) VALUES (?, ?)", arguments: [record.name, try Self.encode(record)])
            }
        } catch {
            try? FileManager.default.removeItem(atPath: "\(root)/\(record.name)")
            throw error
        }
        return record
    }

    /// Whether the volume's data is a mount of its own (a volume with driver options, in use).
    public func isMounted(_ name: String) -> Bool {
        (try? Mounts.entry(containing: mountpoint(name)))?.mountPoint == mountpoint(name)
    }

    /// Mounts a volume with driver options on its `_data`, unless it is there already.
    public func mountIfNeeded(_ record: VolumeRecord) throws {
        guard let options = try LocalDriverOptions(record.options), options.type != nil, !isMounted(record.name) else { return }
        try options.mount(on: mountpoint(record.name))
    }

    /// Undoes a driver's mount (its last user stopped), as dockerd's local driver does.
    public func unmount(_ name: String) throws {
        if isMounted(name) { try Mounts.unmount(mountpoint(name), detach: true) }
    }

    /// Deletes the row, then the data (renamed out of the way first, so a crash in the middle
    /// leaves no half-deleted volume under its name); a driver's mount is undone first.
    public func remove(_ name: String) throws {
        if isMounted(name) { try Mounts.unmount(mountpoint(name), detach: true) }
        try db.write { db in try db.execute(sql: "DELETE FROM volumes WHERE name = ?", arguments: [name]) }
        let trash = "\(root)/.removing-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        if rename("\(root)/\(name)", trash) == 0 { try? FileManager.default.removeItem(atPath: trash) }
    }

    /// Directories without a row (a crash between the two steps of create or remove).
    public func discardOrphans() throws {
        let known = Set(try all().map(\.name))
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where !known.contains(entry) {
            // A driver's mount under it is undone first: what the device holds is not ours to delete.
            if (try? Mounts.entry(containing: "\(root)/\(entry)/_data"))?.mountPoint == "\(root)/\(entry)/_data" {
                guard (try? Mounts.unmount("\(root)/\(entry)/_data", detach: true)) != nil else { continue }
            }
            try? FileManager.default.removeItem(atPath: "\(root)/\(entry)")
        }
    }

    /// Bytes the volume's data takes (`system df -v`, inspect's UsageData).
    public func size(_ name: String) -> Int64 {
        var total: Int64 = 0
        guard let walker = FileManager.default.enumerator(atPath: mountpoint(name)) else { return 0 }
        while let entry = walker.nextObject() as? String {
            var info = stat()
            if lstat(mountpoint(name) + "/" + entry, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { total += Int64(info.st_blocks) * 512 }
        }
        return total
    }

    /// Whether the volume holds nothing yet (a copy-up fills only an empty one).
    public func isEmpty(_ name: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: mountpoint(name))) ?? []).isEmpty
    }

    private static func encode(_ record: VolumeRecord) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(record), as: UTF8.self)
    }

    private static func decode(_ text: String) throws -> VolumeRecord {
        try JSONDecoder().decode(VolumeRecord.self, from: Data(text.utf8))
    }
}
