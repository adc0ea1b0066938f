/// OCI layer whiteouts and their overlayfs form.
///
/// In a layer tar, `dir/.wh.name` deletes `dir/name` from the layers below and
/// `dir/.wh..wh..opq` hides everything below in `dir`. overlayfs spells the same things as a
/// character device 0:0 named `name` and the xattr `trusted.overlay.opaque=y` on `dir`.
public enum Whiteout {
    public static let prefix = ".wh."
    public static let opaqueMarker = ".wh..wh..opq"
    public static let opaqueXattr = "trusted.overlay.opaque"
    /// Extended attributes a layer may never set: overlayfs trusts them (redirects, opacity).
    public static let reservedXattrPrefix = "trusted.overlay."
}

/// How a layer lands on disk.
public enum ApplyMode: Sendable {
    /// Into its own empty directory, as an overlayfs lower layer: whiteouts become overlay markers.
    case overlay
    /// On top of the layers below in one directory (copy-based snapshots): whiteouts delete.
    case flat
}
