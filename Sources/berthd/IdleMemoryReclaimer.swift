import BerthAPI
import BerthSystem

/// Gives memory back to the kernel once the API has been quiet for a while: freed heap, and the
/// mappings of code pages that start-up and the last requests touched (`ProcessMemory`). A daemon
/// that waits for work most of the time then holds little more than its live data; the first
/// request afterwards maps back the code it needs from the page cache (minor faults, about a
/// millisecond).
struct IdleMemoryReclaimer {
    let activity: RequestActivity
    var quietPeriod: Duration = .seconds(2)
    var pollInterval: Duration = .milliseconds(500)

    func run() async {
        let clock = ContinuousClock()
        var lastCount = -1
        var reclaimedAtCount = -1
        var quietSince = clock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: pollInterval)
            let count = activity.requestCount
            if count != lastCount {
                lastCount = count
                quietSince = clock.now
            } else if count != reclaimedAtCount, clock.now - quietSince >= quietPeriod {
                ProcessMemory.releaseIdlePages()
                reclaimedAtCount = count
            }
        }
    }
}
