/// An error in an input file: the file, the place in it and what was expected.
///
/// ```
/// chips/h100.yaml:42:7: memory.hbm.bandwidth: expected a bandwidth such as "3.35 TB/s", found "3.35 TB"
/// ```
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var path: String
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, path: String = "", message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        return path.isEmpty ? "\(place): \(message)" : "\(place): \(path): \(message)"
    }
}

/// Several input errors found in one pass, so a user can fix them all at once.
public struct ConfigErrors: Error, CustomStringConvertible, Sendable {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// The closest candidate to `word`: the shortest one it begins (an id typed short, `h100` for
/// `h100-sxm`), else the nearest by edit distance if it is close enough to be a likely misspelling.
public func nearest(_ word: String, in candidates: [String]) -> String? {
    let lowered = word.lowercased()
    if lowered.count >= 3, let completed = candidates.filter({ $0.lowercased().hasPrefix(lowered) }).min(by: { $0.count < $1.count }) {
        return completed
    }
    var best: (String, Int)?
    for candidate in candidates {
        let distance = editDistance(word.lowercased(), candidate.lowercased())
        if best == nil || distance < best!.1 { best = (candidate, distance) }
    }
    guard let (candidate, distance) = best else { return nil }
    return distance <= max(2, candidate.count / 3) ? candidate : nil
}

/// The hint for a message about an unknown word: `; did you mean "stream"?`, or "" when no
/// candidate is close enough. Every "did you mean" the tool prints is built here.
///
/// ```
/// throw node.error("unknown op \"\(name)\"\(didYouMean(name, in: opNames))")   // unknown op "gemn"; did you mean "gemm"?
/// ```
public func didYouMean(_ word: String, in candidates: [String]) -> String {
    nearest(word, in: candidates).map { "; did you mean \"\($0)\"?" } ?? ""
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
