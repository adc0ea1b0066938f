import Foundation

/// What `/version` and `/info` say about this host and daemon, read from the system (and the
/// engine ID from the data root, made on first use): the API layer reads no files itself.
public struct HostDescription: Sendable {
    public var kernelVersion: String
    /// Go's name for the architecture (`amd64`, `arm64`).
    public var goArchitecture: String
    /// `uname -m` (`x86_64`, `aarch64`).
    public var machine: String
    public var operatingSystem: String
    public var cgroupVersion: String
    public var memoryBytes: Int64
    public var cpus: Int
    public var hostname: String
    public var engineID: String

    public init(kernelVersion: String, goArchitecture: String, machine: String, operatingSystem: String, cgroupVersion: String,
                memoryBytes: Int64, cpus: Int, hostname: String, engineID: String) {
        self.kernelVersion = kernelVersion
        self.goArchitecture = goArchitecture
        self.machine = machine
        self.operatingSystem = operatingSystem
        self.cgroupVersion = cgroupVersion
        self.memoryBytes = memoryBytes
        self.cpus = cpus
        self.hostname = hostname
        self.engineID = engineID
    }

    /// This host now; the engine ID is kept in `dataRoot/engine-id`.
    public static func read(dataRoot: String) -> HostDescription {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let machine = withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var memory: Int64 = 0
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8), let line = text.split(separator: "\n").first,
           let kb = Int64(line.split(separator: " ").dropFirst().first ?? "") { memory = kb * 1024 }
        return HostDescription(kernelVersion: release, goArchitecture: goArchitecture, machine: machine,
                               operatingSystem: operatingSystem(),
                               cgroupVersion: FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") ? "2" : "1",
                               memoryBytes: memory, cpus: ProcessInfo.processInfo.activeProcessorCount,
                               hostname: ProcessInfo.processInfo.hostName, engineID: engineID(dataRoot))
    }

    private static var goArchitecture: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }

    private static func engineID(_ dataRoot: String) -> String {
        let path = dataRoot + "/engine-id"
        if let id = try? String(contentsOfFile: path, encoding: .utf8) { return id.trimmingCharacters(in: .whitespacesAndNewlines) }
        let id = UUID().uuidString.lowercased()
        EngineLog.attempt("write \(path)") { try id.write(toFile: path, atomically: true, encoding: .utf8) }
        return id
    }

    private static func operatingSystem() -> String {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("PRETTY_NAME=") }) else { return "Linux" }
        return line.dropFirst(12).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }
}
