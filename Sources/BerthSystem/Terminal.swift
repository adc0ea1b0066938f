import CBerthSystem
import Glibc

/// Pseudo-terminal helpers.
public enum Terminal {
    /// Opens a new pty master on `ptmx` and returns it with the path of its slave.
    public static func openMaster(ptmx: String = "/dev/ptmx", ptsDirectory: String = "/dev/pts") throws -> (master: Int32, slavePath: String) {
        var number: Int32 = 0
        let fd = try syscallChecked("open \(ptmx)") { berth_open_ptmx(ptmx, &number) }
        return (fd, "\(ptsDirectory)/\(number)")
    }

    public static func setControlling(_ fd: Int32) throws {
        try syscallChecked("set controlling terminal") { berth_set_ctty(fd) }
    }

    public static func setSize(_ fd: Int32, rows: UInt16, columns: UInt16) throws {
        try syscallChecked("set terminal size") { berth_set_winsize(fd, rows, columns) }
    }

    public static func size(_ fd: Int32) -> (rows: UInt16, columns: UInt16)? {
        var rows: UInt16 = 0
        var cols: UInt16 = 0
        return berth_get_winsize(fd, &rows, &cols) == 0 ? (rows, cols) : nil
    }

    /// Puts `fd` in raw mode and returns the previous settings to restore.
    public static func makeRaw(_ fd: Int32) -> termios? {
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        cfmakeraw(&raw)
        tcsetattr(fd, TCSANOW, &raw)
        return saved
    }

    public static func restore(_ fd: Int32, _ settings: termios) {
        var s = settings
        tcsetattr(fd, TCSANOW, &s)
    }
}
