extension Bool {
    /// Go's strconv.ParseBool, which dockerd reads its boolean options with (log options,
    /// network driver options).
    init?(goParsing text: String) {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": self = true
        case "0", "f", "F", "FALSE", "false", "False": self = false
        default: return nil
        }
    }
}
