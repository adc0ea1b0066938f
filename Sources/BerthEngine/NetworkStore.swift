import BerthNetwork
import Foundation
import GRDB

/// The networks' definitions in `berth.db` (SQLite, WAL), one row each: the name is unique in
/// the database itself, and each change is one transaction. Definitions a daemon of before kept
/// as files (`DATA/networks/<id>.json`) move in at the first start.
final class NetworkStore: Sendable {
    private let db: DatabasePool

    init(path: String) throws {
        var config = Configuration()
        // The image store writes to the same file from its own connection.
        config.busyMode = .timeout(10)
        db = try DatabasePool(path: path, configuration: config)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("networks-v1") { db in
            try db.create(table: "networks") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull().unique()
                t.column("definition", .text).notNull()  // NetworkDefinition as JSON
            }
        }
        try migrator.migrate(db)
    }

    func all() throws -> [NetworkDefinition] {
        try db.read { db in
            try String.fetchAll(db, sql: "SELECT definition FROM networks").compactMap { text in
                do { return try JSONDecoder().decode(NetworkDefinition.self, from: Data(text.utf8)) } catch {
                    EngineLog.logger.warning("a network of berth.db does not read: ignored (\(error))")
                    return nil
                }
            }
        }
    }

    /// Adds `definition` or replaces the one with its ID; refused when another has its name.
    func save(_ definition: NetworkDefinition) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(definition), as: UTF8.self)
        try db.write { db in
            try db.execute(sql: "INSERT INTO networks (id, name, definition) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, definition = excluded.definition",
                           arguments: [definition.id, definition.name, text])
        }
    }

    func remove(_ id: String) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM networks WHERE id = ?", arguments: [id]) }
    }

    /// Moves the definitions of `directory` (`<id>.json` files) into the database, in one
    /// transaction, then deletes the files: a crash in between leaves the files, read again.
    func importFiles(from directory: String) throws {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }
        guard !files.isEmpty else { return }
        let definitions = files.compactMap { file -> NetworkDefinition? in
            guard let data = FileManager.default.contents(atPath: directory + "/" + file),
                  let definition = try? JSONDecoder().decode(NetworkDefinition.self, from: data) else {
                EngineLog.logger.warning("network file \(directory)/\(file) does not read: left where it is")
                return nil
            }
            return definition
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try db.write { db in
            for definition in definitions {
                try db.execute(sql: "INSERT OR IGNORE INTO networks (id, name, definition) VALUES (?, ?, ?)",
                               arguments: [definition.id, definition.name, String(decoding: try encoder.encode(definition), as: UTF8.self)])
            }
        }
        for definition in definitions { try? FileManager.default.removeItem(atPath: directory + "/\(definition.id).json") }
        rmdir(directory)  // only when it is empty: an unreadable file stays for its owner to see
    }
}
