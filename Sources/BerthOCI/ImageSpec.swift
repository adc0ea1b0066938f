#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An OCI content descriptor (also Docker schema2's descriptor: same JSON).
public struct Descriptor: Codable, Equatable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var urls: [String]?
    public var annotations: [String: String]?
    public var data: String?
    public var platform: Platform?
    public var artifactType: String?

    public init(mediaType: String, digest: Digest, size: Int64, platform: Platform? = nil,
                annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
    }
}

/// The platform an image targets.
public struct Platform: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var architecture: String
    public var os: String
    public var osVersion: String?
    public var osFeatures: [String]?
    public var variant: String?
    public var features: [String]?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant, features
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(architecture: String, os: String = "linux", variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }

    public var description: String {
        [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
    }

    /// The platform of the running machine, normalized to Go's GOARCH names as registries use them.
    public static var current: Platform {
        #if arch(x86_64)
        return Platform(architecture: "amd64")
        #elseif arch(arm64)
        return Platform(architecture: "arm64", variant: "v8")
        #else
        return Platform(architecture: "unknown")
        #endif
    }

    /// Whether an image built for `self` runs on `host` (arm64's variant v8 may be omitted).
    public func matches(_ host: Platform) -> Bool {
        guard os == host.os, architecture == host.architecture else { return false }
        if architecture == "arm64" { return (variant ?? "v8") == (host.variant ?? "v8") }
        return variant == nil || host.variant == nil || variant == host.variant
    }
}

/// An OCI image index, also Docker's manifest list (`manifests` with platforms).
public struct ImageIndex: Codable, Equatable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var manifests: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(mediaType: String? = MediaType.ociIndex, manifests: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }

    /// The manifest for `platform`, preferring an exact variant match.
    public func manifest(for platform: Platform) -> Descriptor? {
        let candidates = manifests.filter { $0.platform?.matches(platform) ?? false }
        return candidates.first { $0.platform?.variant == platform.variant } ?? candidates.first
    }
}

/// An OCI image manifest, also Docker's schema2 manifest.
public struct ImageManifest: Codable, Equatable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(mediaType: String? = MediaType.ociManifest, config: Descriptor, layers: [Descriptor],
                annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }
}

/// The image configuration (`application/vnd.oci.image.config.v1+json`, Docker's container image v1).
public struct ImageConfig: Codable, Equatable, Sendable {
    public var created: String?
    public var author: String?
    public var architecture: String
    public var os: String
    public var osVersion: String?
    public var osFeatures: [String]?
    public var variant: String?
    public var config: Config?
    public var rootfs: RootFS
    public var history: [History]?

    enum CodingKeys: String, CodingKey {
        case created, author, architecture, os, variant, config, rootfs, history
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(architecture: String, os: String = "linux", config: Config? = nil, rootfs: RootFS,
                history: [History]? = nil, created: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.config = config
        self.rootfs = rootfs
        self.history = history
        self.created = created
    }

    /// Runtime defaults for containers of this image. Keys are capitalized as in the spec.
    public struct Config: Codable, Equatable, Sendable {
        public var user: String?
        public var exposedPorts: [String: EmptyObject]?
        public var env: [String]?
        public var entrypoint: [String]?
        public var cmd: [String]?
        public var volumes: [String: EmptyObject]?
        public var workingDir: String?
        public var labels: [String: String]?
        public var stopSignal: String?
        public var argsEscaped: Bool?
        public var healthcheck: HealthConfig?
        public var onBuild: [String]?
        public var shell: [String]?

        enum CodingKeys: String, CodingKey {
            case user = "User", exposedPorts = "ExposedPorts", env = "Env", entrypoint = "Entrypoint"
            case cmd = "Cmd", volumes = "Volumes", workingDir = "WorkingDir", labels = "Labels"
            case stopSignal = "StopSignal", argsEscaped = "ArgsEscaped", healthcheck = "Healthcheck"
            case onBuild = "OnBuild", shell = "Shell"
        }

        public init(env: [String]? = nil, entrypoint: [String]? = nil, cmd: [String]? = nil, workingDir: String? = nil) {
            self.env = env
            self.entrypoint = entrypoint
            self.cmd = cmd
            self.workingDir = workingDir
        }
    }

    /// Docker's healthcheck extension to the image config (durations in nanoseconds).
    public struct HealthConfig: Codable, Equatable, Sendable {
        public var test: [String]?
        public var interval: Int64?
        public var timeout: Int64?
        public var startPeriod: Int64?
        public var startInterval: Int64?
        public var retries: Int?

        enum CodingKeys: String, CodingKey {
            case test = "Test", interval = "Interval", timeout = "Timeout", startPeriod = "StartPeriod"
            case startInterval = "StartInterval", retries = "Retries"
        }
    }

    public struct RootFS: Codable, Equatable, Sendable {
        public var type: String
        public var diffIDs: [Digest]

        enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }

        public init(diffIDs: [Digest]) {
            self.type = "layers"
            self.diffIDs = diffIDs
        }
    }

    public struct History: Codable, Equatable, Sendable {
        public var created: String?
        public var createdBy: String?
        public var author: String?
        public var comment: String?
        public var emptyLayer: Bool?

        enum CodingKeys: String, CodingKey {
            case created, author, comment
            case createdBy = "created_by"
            case emptyLayer = "empty_layer"
        }

        public init(created: String? = nil, createdBy: String? = nil, comment: String? = nil, emptyLayer: Bool? = nil) {
            self.created = created
            self.createdBy = createdBy
            self.comment = comment
            self.emptyLayer = emptyLayer
        }
    }
}

/// `{}` in maps such as `ExposedPorts` and `Volumes`.
public struct EmptyObject: Codable, Equatable, Hashable, Sendable {
    public init() {}
}

/// A manifest document fetched from a registry or a layout, classified by its media type.
public enum ManifestDocument: Equatable, Sendable {
    case index(ImageIndex)
    case manifest(ImageManifest)

    /// The media type of a `Content-Type` header, ignoring parameters; nil for generic JSON.
    static func mediaType(fromContentType header: String?) -> String? {
        guard let first = header?.split(separator: ";").first else { return nil }
        let type = String(first.filter { $0 != " " && $0 != "\t" })
        return type.isEmpty || type == "application/json" ? nil : type
    }

    /// Decodes `data` given the `Content-Type` a registry sent (or `nil` to sniff `mediaType`).
    /// Schema 1 manifests are refused: they are deprecated and unsigned content.
    public static func decode(_ data: Data, contentType: String?) throws -> ManifestDocument {
        struct Probe: Decodable {
            var mediaType: String?
            var schemaVersion: Int?
            var manifests: [Descriptor]?
            var config: Descriptor?
        }
        let probe: Probe
        do { probe = try JSONDecoder().decode(Probe.self, from: data) } catch {
            throw OCIError.invalidDocument("manifest is not valid JSON: \(error)")
        }
        let declared = mediaType(fromContentType: contentType) ?? probe.mediaType
        if probe.schemaVersion == 1 || declared == MediaType.dockerSchema1 || declared == MediaType.dockerSchema1Signed {
            throw OCIError.unsupportedMediaType("Docker image manifest schema 1 (deprecated; push the image again with a current client)")
        }
        let isIndex: Bool
        switch declared {
        case MediaType.ociIndex?, MediaType.dockerManifestList?: isIndex = true
        case MediaType.ociManifest?, MediaType.dockerManifest?: isIndex = false
        case nil: isIndex = probe.manifests != nil && probe.config == nil
        case let other?: throw OCIError.unsupportedMediaType(other)
        }
        do {
            return isIndex ? .index(try JSONDecoder().decode(ImageIndex.self, from: data))
                           : .manifest(try JSONDecoder().decode(ImageManifest.self, from: data))
        } catch {
            throw OCIError.invalidDocument("manifest does not match its media type \(declared ?? "(none)"): \(error)")
        }
    }
}
