import Chips
import Config
import Foundation
import SimCore
import Workloads

/// A seeded mutation fuzzer of the readers: chip files, library files and traces, in YAML and JSON.
///
/// Each input is a seed file (shipped chips, libraries and workloads, their JSON renderings, the
/// committed regression inputs) with a few mutations: bytes flipped, inserted, deleted or
/// repeated, YAML/JSON tokens inserted, a piece of another seed spliced in, the end cut off. The
/// input goes through the whole reader (``ConfigNode`` parse, then ``ChipDocument`` and
/// ``ChipSpec``, ``KernelLibrary`` or ``Trace``), which must end in a value or a ``ConfigError``
/// that names the file: never a crash, another error type, or an empty message. Every
/// `compareEvery`-th input the built-in parser is also held to Yams: where both read it, the trees
/// must be the same.
struct ReaderFuzzer {
    enum Kind: String, Sendable {
        case chip, library, trace
    }

    struct Input: Sendable {
        var kind: Kind
        var name: String
        var bytes: [UInt8]
    }

    /// What one input did.
    enum Outcome: Equatable {
        case read
        case refused
        /// The reader broke its contract (a wrong error type, an error without file or message, a
        /// tree that differs from Yams'): a finding, like a crash.
        case finding(String)
    }

    struct Summary {
        var inputs = 0
        var read = 0
        var refused = 0
        var compared = 0
        var findings: [(Input, String)] = []
        var slowest = 0.0
        var slowestInput: Input?
    }

    let seeds: [Input]
    let libraries: String
    var rng: SplitMix64

    init(seeds: [Input], libraries: String, seed: UInt64) {
        self.seeds = seeds
        self.libraries = libraries
        rng = SplitMix64(seed: seed)
    }

    // MARK: Seeds

    /// The shipped chips, libraries and workloads under `root`, their JSON renderings, and the
    /// regression inputs in `Tests/WorkloadsTests/Fuzz` (named `chip-*`, `library-*`, `trace-*`).
    static func seeds(root: String) -> [Input] {
        var inputs: [Input] = []
        func add(_ folder: String, _ kind: Kind?) {
            let directory = root + "/" + folder
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            for name in names where name.hasSuffix(".yaml") || name.hasSuffix(".json") {
                guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
                let kind = kind ?? Kind(rawValue: String(name.prefix { $0 != "-" })) ?? .trace
                let bytes = [UInt8](data)
                inputs.append(Input(kind: kind, name: folder + "/" + name, bytes: bytes))
                if let root = try? ConfigNode.parse(bytes: bytes, file: name), let json = json(root) {
                    inputs.append(Input(kind: kind, name: folder + "/" + name + " as JSON", bytes: Array(json.utf8)))
                }
            }
        }
        add("chips", .chip)
        add("chips/libraries", .library)
        add("workloads", .trace)
        add("Tests/WorkloadsTests/Fuzz", nil)
        return inputs
    }

    /// A node tree as JSON text (plain scalars that are numbers or booleans stay bare).
    static func json(_ node: ConfigNode, depth: Int = 0) -> String? {
        guard depth < 100 else { return nil }
        switch node.content {
        case .null: return "null"
        case .scalar(let text, let plain):
            if plain, Double(text) != nil || text == "true" || text == "false", !text.hasPrefix("+"), !text.hasPrefix("."),
                !text.lowercased().contains("n"), !text.hasPrefix("0") || text == "0" || text.hasPrefix("0.")
            {
                return text
            }
            return quote(text)
        case .sequence(let items):
            let parts = items.compactMap { json($0, depth: depth + 1) }
            return parts.count == items.count ? "[" + parts.joined(separator: ", ") + "]" : nil
        case .mapping(let entries):
            let parts = entries.compactMap { entry in json(entry.value, depth: depth + 1).map { quote(entry.key) + ": " + $0 } }
            return parts.count == entries.count ? "{" + parts.joined(separator: ",\n") + "}" : nil
        }
    }

    static func quote(_ text: String) -> String { jsonQuoted(text) }

    // MARK: Mutations

    /// Pieces of YAML and JSON syntax that reach the parser's corners.
    static let tokens: [String] = [
        "[", "]", "{", "}", ",", ":", ": ", "- ", "-", "? ", "#", " #", "\"", "'", "''", "\\", "\\u00e9", "\\x41", "\\uD800", "\n",
        "\n  ", "\n- ", "    ", "\t", "\r\n", "&a ", "*a", "!!str ", "|\n  ", ">\n  ", "--- ", "\n...\n", "%YAML 1.1\n", "~", "null",
        "true", "0", "-0", "1e400", "99999999999999999999", "-9223372036854775809", "0x10", "1_000", ".inf", "NaN", "é", "\u{85}",
        "\u{2028}", "\u{FEFF}", "\u{0}", "\u{7F}", "kernels", "schema: 1\n", "id", "value", "source", "variants", "deps: [",
        String(repeating: "[", count: 200), String(repeating: "{a: ", count: 150), String(repeating: "  ", count: 300),
        String(repeating: "- ", count: 200),
    ].map { $0 }

    mutating func mutate(_ input: Input) -> Input {
        var bytes = input.bytes
        let steps = 1 + Int(rng.next() % 4)
        for _ in 0..<steps {
            let position = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count + 1))
            switch rng.next() % 9 {
            case 0 where !bytes.isEmpty:  // flip a bit
                let i = min(position, bytes.count - 1)
                bytes[i] ^= UInt8(1 << (rng.next() % 8))
            case 1:  // a random byte
                bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: position)
            case 2 where !bytes.isEmpty:  // delete a run
                let length = min(bytes.count - min(position, bytes.count - 1), 1 + Int(rng.next() % 64))
                bytes.removeSubrange(min(position, bytes.count - 1)..<min(position, bytes.count - 1) + length)
            case 3 where !bytes.isEmpty:  // repeat a run
                let start = min(position, bytes.count - 1)
                let length = min(bytes.count - start, 1 + Int(rng.next() % 200))
                let run = Array(bytes[start..<start + length])
                for _ in 0..<(1 + Int(rng.next() % 8)) { bytes.insert(contentsOf: run, at: start) }
            case 4, 5:  // a syntax token
                let token = ReaderFuzzer.tokens[Int(rng.next() % UInt64(ReaderFuzzer.tokens.count))]
                bytes.insert(contentsOf: Array(token.utf8), at: position)
            case 6:  // a piece of another seed
                let other = seeds[Int(rng.next() % UInt64(seeds.count))].bytes
                guard !other.isEmpty else { continue }
                let start = Int(rng.next() % UInt64(other.count))
                let length = min(other.count - start, 1 + Int(rng.next() % 400))
                bytes.insert(contentsOf: other[start..<start + length], at: position)
            case 7:  // cut the end off
                bytes.removeSubrange(position...)
            default:  // change a digit, or a byte to a neighbour
                guard !bytes.isEmpty else { continue }
                let i = min(position, bytes.count - 1)
                bytes[i] = bytes[i] >= 0x30 && bytes[i] <= 0x39 ? UInt8(0x30 + rng.next() % 10) : bytes[i] &+ 1
            }
        }
        return Input(kind: input.kind, name: input.name, bytes: bytes)
    }

    // MARK: Running

    /// The file name errors must carry.
    static let fileName = "fuzz-input"

    /// Feeds one input to the full reader of its kind.
    static func run(_ input: Input, libraries: String, compare: Bool) -> Outcome {
        do {
            let root = try ConfigNode.parse(bytes: input.bytes, file: fileName)
            if compare, let difference = differenceFromYams(input.bytes) { return .finding(difference) }
            switch input.kind {
            case .chip: _ = try ChipSpec(try ChipDocument.read(root), libraries: libraries)
            case .library: _ = try KernelLibrary.read(root)
            case .trace: _ = try Trace.read(root)
            }
            return .read
        } catch let error as ConfigError {
            return check([error])
        } catch let errors as ConfigErrors {
            return check(errors.errors)
        } catch {
            return .finding("an error that is not a ConfigError: \(type(of: error)): \(error)")
        }
    }

    static func check(_ errors: [ConfigError]) -> Outcome {
        if errors.isEmpty { return .finding("an empty list of errors") }
        for error in errors {
            if error.file.isEmpty { return .finding("an error without a file: \(error)") }
            if error.message.isEmpty { return .finding("an error without a message: \(error)") }
        }
        return .refused
    }

    /// Where the built-in parser and Yams both read a document, their trees must be the same.
    static func differenceFromYams(_ bytes: [UInt8]) -> String? {
        guard let ours = try? ConfigNode.parse(bytes: bytes, file: fileName, parser: .builtIn) else { return nil }
        guard let yams = try? ConfigNode.parse(bytes: bytes, file: fileName, parser: .yams) else {
            // Yams refuses what the built-in parser read: a difference, unless it is one of the
            // documented ones (a key written twice is refused by both; nothing else may differ).
            return "the built-in parser read a document Yams refuses"
        }
        return ours.firstDifference(from: yams).map { "the built-in parser and Yams differ: \($0)" }
    }

    /// Runs `count` mutated inputs; `before` is told each input before it runs (the executable
    /// saves it, so a crash leaves it behind).
    mutating func round(
        count: Int, compareEvery: Int, before: (Input) -> Void = { _ in }, found: (Input, String) -> Void = { _, _ in }
    ) -> Summary {
        var summary = Summary()
        for i in 0..<count {
            let seed = seeds[Int(rng.next() % UInt64(seeds.count))]
            let input = mutate(seed)
            before(input)
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome = ReaderFuzzer.run(input, libraries: libraries, compare: compareEvery > 0 && i % compareEvery == 0)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if seconds > summary.slowest {
                summary.slowest = seconds
                summary.slowestInput = input
            }
            summary.inputs += 1
            if compareEvery > 0 && i % compareEvery == 0 { summary.compared += 1 }
            switch outcome {
            case .read: summary.read += 1
            case .refused: summary.refused += 1
            case .finding(let what):
                summary.findings.append((input, what))
                found(input, what)
            }
        }
        return summary
    }
}

/// A small, fast, seeded generator (SplitMix64): the same seed gives the same inputs.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
