import Foundation

/// The containers berthd knows: their records by ID, an index of their names, lookup by ID,
/// name or unique ID prefix as Docker resolves them, and the records on disk
/// (`containers/<id>/config.v2.json`, written atomically and synced in the background). Owned by
/// the engine actor, which keeps the state machine; this holds no behaviour of a container.
struct ContainerStore: Sequence {
    let root: String
    private var records: [String: ContainerRecord] = [:]
    /// Name (without `/`) → ID.
    private var names: [String: String] = [:]
    /// Containers whose record could not be read at start: their files, shims and runtime state
    /// are left alone (an operator decides), never treated as orphans.
    private(set) var unreadable: Set<String> = []

    /// The records under `root`. A directory without a record (a create that crashed before
    /// writing it) is removed; a record that does not decode is skipped and logged, its files kept.
    init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for id in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            let path = "\(root)/\(id)/config.v2.json"
            guard let data = FileManager.default.contents(atPath: path) else {
                EngineLog.attempt("remove \(root)/\(id), left by an interrupted create") { try FileManager.default.removeItem(atPath: "\(root)/\(id)") }
                continue
            }
            do {
                self[id] = try JSONDecoder().decode(ContainerRecord.self, from: data)
            } catch {
                // Records are written atomically: one that does not decode was written by another
                // version, or damaged. Kept, for an operator to look at, never deleted.
                EngineLog.logger.error("container record \(path) cannot be read, skipped (the container's files are kept): \(error)")
                unreadable.insert(id)
            }
        }
    }

    func directory(_ id: String) -> String { "\(root)/\(id)" }

    subscript(id: String) -> ContainerRecord? {
        get { records[id] }
        set {
            if let old = records[id], names[old.name] == id { names[old.name] = nil }
            records[id] = newValue
            if let newValue { names[newValue.name] = id }
        }
    }

    @discardableResult
    mutating func removeValue(forKey id: String) -> ContainerRecord? {
        defer { self[id] = nil }
        return records[id]
    }

    var values: Dictionary<String, ContainerRecord>.Values { records.values }
    var ids: Dictionary<String, ContainerRecord>.Keys { records.keys }

    func makeIterator() -> Dictionary<String, ContainerRecord>.Iterator { records.makeIterator() }

    /// The container named `name` (with or without the leading `/`).
    func id(named name: String) -> String? { names[name.hasPrefix("/") ? String(name.dropFirst()) : name] }

    /// A container by full ID, name or unique ID prefix, as dockerd resolves a reference.
    func resolve(_ reference: String) throws -> String {
        if records[reference] != nil { return reference }
        if let id = id(named: reference) { return id }
        let matches = records.keys.filter { $0.hasPrefix(reference) }
        if matches.count == 1, !reference.isEmpty { return matches[0] }
        if matches.count > 1 { throw EngineError(.badRequest, "multiple IDs found with provided prefix: \(reference)") }
        throw EngineError.noSuchContainer(reference)
    }

    /// Keeps `record` and writes it (atomically now, durably soon after). A record the store no
    /// longer has is not written back: a request that held a copy across a concurrent removal
    /// must not bring the container back without its files (`insert` is for new ones).
    mutating func save(_ record: ContainerRecord) throws {
        guard records[record.id] != nil else { throw EngineError.noSuchContainer(record.name) }
        try insert(record)
    }

    /// Keeps a new container's record and writes it.
    mutating func insert(_ record: ContainerRecord) throws {
        self[record.id] = record
        try BackgroundSync.shared.writeAtomically(directory(record.id) + "/config.v2.json", Array(try JSONEncoder().encode(record)), mode: 0o600)
    }
}
