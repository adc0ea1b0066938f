import BerthOCI
import GRDB

/// One image as the store knows it.
public struct ImageRecord: Sendable, Equatable {
    /// The config digest, which is the image ID.
    public var id: Digest
    public var manifestDigest: Digest?
    public var created: String?
    /// Sum of the layer blob sizes.
    public var size: Int64
    /// Layer chain IDs, bottom first.
    public var chain: [Digest]
    /// Full references (`docker.io/library/busybox:latest`) pointing at it.
    public var tags: [String]

    public init(id: Digest, manifestDigest: Digest?, created: String?, size: Int64, chain: [Digest], tags: [String] = []) {
        self.id = id
        self.manifestDigest = manifestDigest
        self.created = created
        self.size = size
        self.chain = chain
        self.tags = tags
    }
}

/// Image metadata in SQLite (WAL): images, tags, and layers with reference counts.
///
/// Every change is one transaction, so a crash leaves either the old or the new state.
/// Layers are counted per image that uses them; removing the last image of a layer reports it
/// so the caller can delete the snapshot.
public final class ImageMetadata: Sendable {
    private let db: DatabasePool

    public init(path: String) throws {
        var config = Configuration()
        config.foreignKeysEnabled = true
        // The networks' store writes to the same file from its own connection.
        config.busyMode = .timeout(10)
        db = try DatabasePool(path: path, configuration: config)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "layers") { t in
                t.primaryKey("chain_id", .text)
                t.column("parent", .text)
                t.column("refcount", .integer).notNull()
            }
            try db.create(table: "images") { t in
                t.primaryKey("id", .text)
                t.column("manifest", .text)
                t.column("created", .text)
                t.column("size", .integer).notNull()
                t.column("chain", .text).notNull()  // chain IDs, space-separated, bottom first
            }
            try db.create(table: "tags") { t in
                t.primaryKey("reference", .text)
                t.column("image_id", .text).notNull().references("images", onDelete: .cascade)
            }
        }
        try migrator.migrate(db)
    }

    /// Records `image` (new or already known) and points `tags` at it; tags that named another
    /// image move. Layers gain a reference only the first time the image is recorded.
    public func add(_ image: ImageRecord, tags: [String]) throws {
        try db.write { db in
            let known = try Bool.fetchOne(db, sql: "SELECT 1 FROM images WHERE id = ?", arguments: [image.id.description]) ?? false
            if !known {
                var parent: String?
                for chainID in image.chain {
                    try db.execute(sql: """
                        INSERT INTO layers (chain_id, parent, refcount) VALUES (?, ?, 1)
                        ON CONFLICT(chain_id) DO UPDATE SET refcount = refcount + 1
                        """, arguments: [chainID.description, parent])
                    parent = chainID.description
                }
                try db.execute(sql: "INSERT INTO images (id, manifest, created, size, chain) VALUES (?, ?, ?, ?, ?)",
                               arguments: [image.id.description, image.manifestDigest?.description, image.created, image.size,
                                           image.chain.map(\.description).joined(separator: " ")])
            } else if let manifest = image.manifestDigest {
                try db.execute(sql: "UPDATE images SET manifest = ? WHERE id = ?", arguments: [manifest.description, image.id.description])
            }
            for tag in tags {
                try db.execute(sql: "INSERT INTO tags (reference, image_id) VALUES (?, ?) ON CONFLICT(reference) DO UPDATE SET image_id = excluded.image_id",
                               arguments: [tag, image.id.description])
            }
        }
    }

    /// Points `reference` at an existing image.
    public func tag(_ reference: String, image: Digest) throws {
        try db.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM images WHERE id = ?", arguments: [image.description]) ?? false else {
                throw ImageStoreError.imageNotFound("\(image)")
            }
            try db.execute(sql: "INSERT INTO tags (reference, image_id) VALUES (?, ?) ON CONFLICT(reference) DO UPDATE SET image_id = excluded.image_id",
                           arguments: [reference, image.description])
        }
    }

    /// Removes a tag; returns the image it named, nil if it named none.
    @discardableResult
    public func untag(_ reference: String) throws -> Digest? {
        try db.write { db in
            guard let id = try String.fetchOne(db, sql: "SELECT image_id FROM tags WHERE reference = ?", arguments: [reference]) else { return nil }
            try db.execute(sql: "DELETE FROM tags WHERE reference = ?", arguments: [reference])
            return try Digest(parsing: id)
        }
    }

    /// Removes an image and its tags; returns the layers no image uses any more (top first).
    public func remove(_ id: Digest) throws -> [Digest] {
        try db.write { db in
            guard let chainText = try String.fetchOne(db, sql: "SELECT chain FROM images WHERE id = ?", arguments: [id.description]) else {
                throw ImageStoreError.imageNotFound("\(id)")
            }
            try db.execute(sql: "DELETE FROM images WHERE id = ?", arguments: [id.description])
            var released: [Digest] = []
            for chainID in chainText.split(separator: " ").reversed() {
                try db.execute(sql: "UPDATE layers SET refcount = refcount - 1 WHERE chain_id = ?", arguments: [String(chainID)])
                if try Int.fetchOne(db, sql: "SELECT refcount FROM layers WHERE chain_id = ?", arguments: [String(chainID)]) ?? 0 <= 0 {
                    try db.execute(sql: "DELETE FROM layers WHERE chain_id = ?", arguments: [String(chainID)])
                    released.append(try Digest(parsing: String(chainID)))
                }
            }
            return released
        }
    }

    public func images() throws -> [ImageRecord] {
        try db.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, manifest, created, size, chain FROM images ORDER BY created DESC, id")
            let tagRows = try Row.fetchAll(db, sql: "SELECT reference, image_id FROM tags ORDER BY reference")
            var tags: [String: [String]] = [:]
            for row in tagRows { tags[row["image_id"], default: []].append(row["reference"]) }
            return try rows.map { try Self.record($0, tags: tags[$0["id"]] ?? []) }
        }
    }

    /// One image, read alone (a resolve must not read every image and tag).
    public func image(_ id: Digest) throws -> ImageRecord? {
        try db.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, manifest, created, size, chain FROM images WHERE id = ?",
                                             arguments: [id.description]) else { return nil }
            let tags = try String.fetchAll(db, sql: "SELECT reference FROM tags WHERE image_id = ? ORDER BY reference",
                                           arguments: [id.description])
            return try Self.record(row, tags: tags)
        }
    }

    /// The IDs of the images whose hex digest starts with `prefix` (lower-case hex).
    public func imageIDs(withPrefix prefix: String) throws -> [Digest] {
        try db.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM images WHERE substr(id, 8, ?) = ?", arguments: [prefix.count, prefix])
                .map(Digest.init(parsing:))
        }
    }

    /// The image a full reference names.
    public func resolve(_ reference: String) throws -> Digest? {
        try db.read { db in
            try String.fetchOne(db, sql: "SELECT image_id FROM tags WHERE reference = ?", arguments: [reference]).map(Digest.init(parsing:))
        }
    }

    /// Reference counts, for tests and `system df`.
    public func layerReferences() throws -> [Digest: Int] {
        try db.read { db in
            var result: [Digest: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT chain_id, refcount FROM layers") {
                result[try Digest(parsing: row["chain_id"])] = row["refcount"]
            }
            return result
        }
    }

    static func record(_ row: Row, tags: [String]) throws -> ImageRecord {
        let chainText: String = row["chain"]
        return ImageRecord(id: try Digest(parsing: row["id"]),
                           manifestDigest: try (row["manifest"] as String?).map(Digest.init(parsing:)),
                           created: row["created"], size: row["size"],
                           chain: try chainText.split(separator: " ").map { try Digest(parsing: String($0)) }, tags: tags)
    }
}
