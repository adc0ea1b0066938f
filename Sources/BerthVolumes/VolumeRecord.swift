/// A volume as Berth stores it (a row of berth.db; its data in `DATA/volumes/<name>/_data`).
public struct VolumeRecord: Sendable, Equatable, Codable {
    public var name: String
    /// `local`, the only driver.
    public var driver: String
    public var createdAt: String
    public var labels: [String: String]
    public var options: [String: String]
    /// Made for a container (`-v /path`, an image's `VOLUME`) rather than by name: removed with
    /// the container by `rm -v` and `--rm`, and the only kind `volume prune` takes by default.
    public var anonymous: Bool

    public init(name: String, driver: String = "local", createdAt: String, labels: [String: String] = [:],
                options: [String: String] = [:], anonymous: Bool = false) {
        self.name = name
        self.driver = driver
        self.createdAt = createdAt
        self.labels = labels
        self.options = options
        self.anonymous = anonymous
    }

    /// dockerd's rule for local volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
    public static func isValidName(_ name: String) -> Bool {
        let allowed = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber) }
        return name.count >= 2 && allowed(name.first!) && name.allSatisfy { allowed($0) || "_.-".contains($0) }
    }
}
