import Chips

/// The value of a system figure, already in SI base units (a flag is the text "yes" or "no").
public enum SystemValue: Sendable, Equatable {
    case number(Double)
    case text(String)
    /// A collective tuner's rules (`collectives.tuner`).
    case rules([TunerRule])

    public var number: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    public var text: String? {
        if case .text(let t) = self { return t }
        return nil
    }

    /// The value as plain data for JSON: a number, a text, or the rules' texts.
    public var plain: Any {
        switch self {
        case .number(let n): return n
        case .text(let t): return t
        case .rules(let rules): return rules.map(\.text)
        }
    }
}

/// A cited source for system figures, declared once per file under `sources:`.
public struct SystemSource: Sendable, Equatable {
    public var key: String
    public var url: String
    public var kind: FigureKind
    public var note: String?
}

/// One figure of a system file: a value with where it came from, and where it was written.
public struct SystemFigure: Sendable {
    public var value: SystemValue
    public var kind: FigureKind
    public var source: SystemSource?
    /// For derived and estimated figures: the formula or the evidence.
    public var how: String?
    /// For fitted figures: the command that produced the value, and the hash of the data it saw.
    public var fit: String?
    public var data: String?
    public var file: String
    public var line: Int?
}
