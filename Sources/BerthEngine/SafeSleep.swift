extension Task where Success == Never, Failure == Never {
    /// Sleeps `seconds`, which may come from a client (`stop?t=`, `events?until=`): negative or
    /// NaN is no wait, and anything beyond a century waits a century. Converting such a value to
    /// nanoseconds directly would trap on overflow.
    public static func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        let century = 100.0 * 365 * 86_400
        try await sleep(nanoseconds: UInt64(min(seconds, century) * 1e9))
    }
}
