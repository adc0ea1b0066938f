/// A volume in a container, as its record keeps it: which volume, where, how.
public struct VolumeMount: Codable, Sendable, Equatable {
    public var name: String
    public var destination: String
    public var readOnly: Bool
    /// Made for this container (`-v /path`, `--mount type=volume` without a source, an image's
    /// `VOLUME`): removed with it by `rm -v` and `--rm`.
    public var anonymous: Bool
    /// Filled from the image's content at the destination while empty (not with `nocopy`).
    public var copyUp: Bool
    /// A directory inside the volume mounted in its place (`volume-subpath`).
    public var subpath: String?
    /// inspect's `Mode`.
    public var mode: String

    public init(name: String, destination: String, readOnly: Bool, anonymous: Bool, copyUp: Bool, subpath: String? = nil, mode: String = "") {
        self.name = name
        self.destination = destination
        self.readOnly = readOnly
        self.anonymous = anonymous
        self.copyUp = copyUp
        self.subpath = subpath
        self.mode = mode
    }
}
