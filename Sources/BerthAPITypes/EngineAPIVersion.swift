/// The Engine API this code speaks, for the server's checks and the client's negotiation.
public enum EngineAPIVersion {
    /// The newest API version served.
    public static let current = "1.50"
    /// The oldest API version a client may ask for.
    public static let minimum = "1.24"
    /// Berth's own version (`/version`, `berth --version`).
    public static let engine = "0.1.0"
}
