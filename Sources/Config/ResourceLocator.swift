import Foundation

/// Finds the folders that ship with xpusim (`chips/`, `workloads/`) whether the tool runs from the
/// repository root or from elsewhere.
public enum ResourceLocator {
    /// `name` in the current directory if present, else beside the package the binary was built in
    /// (the executable lives in `.build/<config>/xpusim`), else `name` itself.
    public static func find(_ name: String) -> String {
        let fm = FileManager.default
        if fm.fileExists(atPath: name) { return name }
        var url = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = url.appendingPathComponent(name).standardized.path
            if fm.fileExists(atPath: candidate) { return candidate }
            url.deleteLastPathComponent()
        }
        return name
    }
}
