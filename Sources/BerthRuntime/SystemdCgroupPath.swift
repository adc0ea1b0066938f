/// A `linux.cgroupsPath` in systemd's form, `slice:prefix:name` (what containerd and CRI-O write
/// for the systemd cgroup driver), and where systemd puts that unit in the cgroup tree.
///
/// `kubepods-besteffort-pod1.slice:cri-containerd:abc` is the scope `cri-containerd-abc.scope`
/// in the slice `kubepods-besteffort-pod1.slice`, which systemd nests by its dashes:
/// `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-abc.scope`.
public struct SystemdCgroupPath: Equatable, Sendable {
    /// The parent slice (`system.slice` when the spec leaves it empty).
    public let slice: String
    /// The unit to create: a scope (`prefix-name.scope`), or a slice if `name` is one.
    public let unit: String
    /// The unit's directory below the cgroup root. A slice unit is placed by its own name
    /// (systemd's rule), a scope inside `slice`.
    public let cgroupPath: String

    public init(_ cgroupsPath: String?, id: String) throws {
        let path = cgroupsPath.flatMap { $0.isEmpty ? nil : $0 } ?? "system.slice:berth:\(id)"
        let parts = path.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, !parts[2].isEmpty else {
            throw RuntimeError.invalidConfig("linux.cgroupsPath \"\(path)\" is not of the form slice:prefix:name that the systemd cgroup driver takes")
        }
        slice = parts[0].isEmpty ? "system.slice" : parts[0]
        let sliceDirectory = try Self.expand(slice: slice)
        if parts[2].hasSuffix(".slice") {
            unit = parts[2]
            cgroupPath = try Self.expand(slice: unit)
        } else {
            unit = (parts[1].isEmpty ? "" : parts[1] + "-") + parts[2] + ".scope"
            guard !unit.contains("/") else { throw RuntimeError.invalidConfig("linux.cgroupsPath \"\(path)\": a unit name cannot contain '/'") }
            cgroupPath = sliceDirectory + "/" + unit
        }
    }

    /// `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice`; `-.slice` (the root slice) → "".
    public static func expand(slice: String) throws -> String {
        guard slice.hasSuffix(".slice"), !slice.contains("/") else {
            throw RuntimeError.invalidConfig("\"\(slice)\" is not a systemd slice name (name.slice)")
        }
        if slice == "-.slice" { return "" }
        let name = String(slice.dropLast(".slice".count))
        guard !name.isEmpty, !name.hasPrefix("-"), !name.hasSuffix("-"), !name.contains("--") else {
            throw RuntimeError.invalidConfig("\"\(slice)\" is not a valid systemd slice name")
        }
        var path = ""
        var prefix = ""
        for part in name.split(separator: "-") {
            prefix += (prefix.isEmpty ? "" : "-") + part
            path += "/" + prefix + ".slice"
        }
        return path
    }
}
