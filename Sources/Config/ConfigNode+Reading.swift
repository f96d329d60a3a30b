import Foundation

/// What the built-in parser does not read; with `.builtIn` it is thrown instead of asking Yams.
public struct UnsupportedByBuiltInParser: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var reason: String
    public var description: String { "\(file): outside the built-in parser's subset: \(reason)" }
}

extension ConfigNode {
    /// Which parser reads a document. `.automatic` (what every reader uses) is the built-in
    /// parser, and Yams for what it leaves; the other two are for tests and the fuzzer, which
    /// compare them.
    public enum Parser: Sendable {
        case automatic
        case builtIn
        case yams
    }

    /// Reads a YAML or JSON file into a node tree.
    ///
    /// An unreadable, empty, binary or malformed file throws a ``ConfigError`` naming the file and,
    /// where the parser knows it, the line.
    public static func load(file path: String) throws -> ConfigNode {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError(file: path, message: "no such file")
        }
        guard let bytes = readBytes(path) else {
            throw ConfigError(file: path, message: "cannot read the file")
        }
        return try parse(bytes: bytes, file: path)
    }

    public static func parse(data: Data, file: String) throws -> ConfigNode {
        try parse(bytes: [UInt8](data), file: file)
    }

    /// Reads the bytes of a file: empty, binary (NUL) and non-UTF-8 files are refused first.
    public static func parse(bytes: [UInt8], file: String, parser: Parser = .automatic) throws -> ConfigNode {
        if bytes.isEmpty { throw ConfigError(file: file, message: "the file is empty; expected a YAML or JSON document") }
        if bytes.withUnsafeBufferPointer({ memchr($0.baseAddress!, 0, $0.count) != nil }) {
            throw ConfigError(file: file, message: "the file is binary, not YAML or JSON text")
        }
        return try read(bytes, file: file, parser: parser)
    }

    public static func parse(text: String, file: String) throws -> ConfigNode {
        try read(Array(text.utf8), file: file, parser: .automatic)
    }

    public static func parse(text: String, file: String, parser: Parser) throws -> ConfigNode {
        try read(Array(text.utf8), file: file, parser: parser)
    }

    static func read(_ bytes: [UInt8], file: String, parser: Parser) throws -> ConfigNode {
        let check = TextCheck(bytes)
        if !check.isUTF8 {
            throw ConfigError(file: file, message: "the file is not UTF-8 text; expected a YAML or JSON document")
        }
        if parser != .yams {
            do {
                if let reason = check.unsupported { throw DocumentParser.Unsupported(reason: reason, offset: 0) }
                return ConfigNode(document: try DocumentParser.parse(bytes, file: file), index: 0)
            } catch let unsupported as DocumentParser.Unsupported {
                if parser == .builtIn { throw UnsupportedByBuiltInParser(file: file, reason: unsupported.reason) }
            }
        }
        // Yams composes its tree recursively: refuse what would nest too deep before it starts, and
        // give it a large stack for what the estimate lets through. The estimate errs high (text
        // that looks like brackets or indentation), so its limit is far above any real file's.
        if TextCheck.nestingEstimate(bytes) > ConfigNode.yamsNestingLimit {
            throw ConfigError(file: file, message: "malformed YAML/JSON: nested more than \(ConfigNode.yamsNestingLimit) levels deep")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return try onLargeStack { try parseWithYams(text: text, file: file) }
    }

    /// What the depth estimate lets through to Yams, on its 512 MiB stack (a few KiB a level).
    static let yamsNestingLimit = 10_000

    static func readBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            return FileManager.default.contents(atPath: path).map { [UInt8]($0) }  // a pipe or device
        }
        let size = Int(info.st_size)
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var total = 0
            while total < size {
                let n = Foundation.read(fd, buffer.baseAddress! + total, size - total)
                if n < 0 { failed = true }
                if n <= 0 { break }
                total += n
            }
            initialized = total
        }
        return failed ? nil : bytes
    }

    final class Outcome<T>: @unchecked Sendable {
        var result: Result<T, Error>?
    }

    /// Runs `body` on a thread with a 512 MiB stack (reserved, touched only as deep as it goes).
    static func onLargeStack<T>(_ body: @escaping () throws -> T) throws -> T {
        let outcome = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let work = body
        let thread = Thread {
            outcome.result = Result { try work() }
            done.signal()
        }
        thread.stackSize = 512 << 20
        thread.start()
        done.wait()
        return try outcome.result!.get()
    }
}

/// One pass over a document's bytes before parsing: UTF-8 validity, and the characters the
/// built-in parser leaves to Yams (control characters, CR, the Unicode line breaks, byte order
/// marks and non-characters that libyaml treats specially).
struct TextCheck {
    var isUTF8 = true
    var unsupported: String?

    init(_ bytes: [UInt8]) {
        var high: UInt8 = 0
        var control: UInt8 = 0
        bytes.withUnsafeBufferPointer { b in
            for c in b {
                high |= c
                control |= (c < 0x20 && c != 0x0A && c != 0x09) || c == 0x7F ? 1 : 0
            }
        }
        if control != 0 { unsupported = "a control character or CR" }
        guard high & 0x80 != 0 else { return }
        guard TextCheck.validUTF8(bytes) else {
            isUTF8 = false
            return
        }
        bytes.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count {
                let c = b[i]
                if c == 0xC2, i + 1 < b.count, b[i + 1] < 0xA0 { unsupported = "a C1 control character or NEL" }
                if c == 0xE2, i + 2 < b.count, b[i + 1] == 0x80, b[i + 2] == 0xA8 || b[i + 2] == 0xA9 {
                    unsupported = "a Unicode line or paragraph separator"
                }
                if c == 0xEF, i + 2 < b.count, (b[i + 1] == 0xBB && b[i + 2] == 0xBF) || (b[i + 1] == 0xBF && b[i + 2] >= 0xBE) {
                    unsupported = "a byte order mark or non-character"
                }
                i += 1
            }
        }
    }

    /// Well-formed UTF-8: no stray continuation bytes, overlong forms, surrogates or values past U+10FFFF.
    static func validUTF8(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { b in
            var i = 0
            let n = b.count
            while i < n {
                let c = b[i]
                if c < 0x80 {
                    i += 1
                    continue
                }
                let length: Int
                var low: UInt8 = 0x80
                var high: UInt8 = 0xBF
                switch c {
                case 0xC2...0xDF: length = 2
                case 0xE0:
                    length = 3
                    low = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: length = 3
                case 0xED:
                    length = 3
                    high = 0x9F
                case 0xF0:
                    length = 4
                    low = 0x90
                case 0xF1...0xF3: length = 4
                case 0xF4:
                    length = 4
                    high = 0x8F
                default: return false
                }
                guard i + length <= n, b[i + 1] >= low, b[i + 1] <= high else { return false }
                for k in 2..<length where b[i + k] & 0xC0 != 0x80 { return false }
                i += length
            }
            return true
        }
    }

    /// An upper estimate of how deep a document nests: unclosed brackets, plus in block context
    /// the levels of indentation still open (a block collection nests only by indenting further)
    /// and the list dashes that open a line. Quoted texts and comments are skipped the way YAML
    /// reads them (a quote that starts a token opens a text; `#` after a space or at a line's
    /// start opens a comment), so brackets written inside them do not count.
    static func nestingEstimate(_ bytes: [UInt8]) -> Int {
        var flow = 0
        var deepest = 0
        var indents: [Int] = []  // the open block indentations, increasing
        var previous: UInt8 = 0x0A
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            if previous == 0x0A && flow == 0 {
                // A line in block context: its indentation, then the dashes and `?` that open it.
                var k = i
                while k < n && bytes[k] == 0x20 { k += 1 }
                let indent = k - i
                var dashes = 0
                while k + 1 < n, bytes[k] == UInt8(ascii: "-") || bytes[k] == UInt8(ascii: "?"),
                    bytes[k + 1] == 0x20 || bytes[k + 1] == 0x09
                {
                    dashes += 1
                    k += 2
                    while k < n && bytes[k] == 0x20 { k += 1 }
                }
                if k < n && bytes[k] != 0x0A && bytes[k] != UInt8(ascii: "#") {
                    while let last = indents.last, last >= indent { indents.removeLast() }
                    indents.append(indent)
                    deepest = max(deepest, indents.count + dashes)
                }
            }
            let tokenStart =
                previous == 0x20 || previous == 0x09 || previous == 0x0A || previous == UInt8(ascii: "[")
                || previous == UInt8(ascii: "{") || previous == UInt8(ascii: ",") || previous == UInt8(ascii: ":")
                || previous == UInt8(ascii: "-") || previous == UInt8(ascii: "?")
            switch c {
            case UInt8(ascii: "\""),
                UInt8(ascii: "'") where tokenStart:
                // To the closing quote (`\"` escapes in double quotes, `''` in single ones).
                i += 1
                while i < n {
                    if c == UInt8(ascii: "\"") && bytes[i] == UInt8(ascii: "\\") {
                        i += 2
                        continue
                    }
                    if bytes[i] == c {
                        if c == UInt8(ascii: "'") && i + 1 < n && bytes[i + 1] == c {
                            i += 2
                            continue
                        }
                        break
                    }
                    i += 1
                }
            case UInt8(ascii: "#") where previous == 0x20 || previous == 0x09 || previous == 0x0A:
                while i < n && bytes[i] != 0x0A { i += 1 }
                previous = UInt8(ascii: "#")
                continue
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flow += 1
                deepest = max(deepest, indents.count + flow)
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                flow = max(0, flow - 1)
            default: break
            }
            previous = i < n ? bytes[i] : 0
            i += 1
        }
        return deepest
    }
}
