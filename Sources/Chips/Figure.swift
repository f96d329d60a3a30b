import SimCore

/// How a figure was obtained.
public enum FigureKind: String, Sendable, CaseIterable {
    /// From the vendor: a datasheet, a vendor configuration file, vendor tools.
    case vendor
    /// Measured on real hardware by someone we can cite.
    case measured
    /// Computed from other figures; `how` gives the formula.
    case derived
    /// An engineering estimate; `how` says from what evidence.
    case estimated
    /// Fitted by `xpusim calibrate` on measured data: `fit` gives the command, `data` a hash of the
    /// calibration rows it saw (`xpusim calibrate` prints both).
    case fitted
    /// Set on the command line with `--set`.
    case override

    /// "a fitted", "an estimated": the kind as a message names it.
    public var withArticle: String { (self == .estimated || self == .override ? "an " : "a ") + rawValue }
}

/// A cited source for chip figures, declared once per file under `sources:`.
public struct Source: Sendable, Equatable {
    public var key: String
    public var url: String
    public var kind: FigureKind
    public var note: String?
}

/// The value a figure holds, already parsed into SI base units.
public enum FigureValue: Sendable, Equatable {
    case number(Double)
    case text(String)
    case curve([Point])

    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
    }

    public var number: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    public var text: String? {
        if case .text(let t) = self { return t }
        return nil
    }
}

/// One figure of a chip file: a value with where it came from.
public struct Figure: Sendable {
    public var value: FigureValue
    public var kind: FigureKind
    public var source: Source?
    /// For derived and estimated figures: the formula or the evidence.
    public var how: String?
    public var file: String
    public var line: Int?
    /// For fitted figures: the command that produced the value, and the hash of the data it saw.
    public var fit: String?
    public var dataHash: String?
    /// A figure copied from another chip (`same_as: h100-sxm`), optionally scaled by the ratio of
    /// one of this chip's figures to the origin's (`scaled_by: power.tdp`); resolved when the chip
    /// is loaded, so a refit of the origin propagates.
    public var sameAs: String?
    public var scaledBy: String?
    /// Where a copied figure's value came from, once resolved: "h100-sxm (chips/nvidia-h100.yaml:147)".
    public var origin: String?

    /// The value as it is printed, with its display unit.
    public func formatted(as type: ParameterType) -> String {
        switch (value, type) {
        case (.number(let n), .quantity(let kind)): return Quantity.format(n, kind)
        case (.number(let n), _): return formatNumber(n)
        case (.text(let t), _): return t
        case (.curve(let points), .curve(let xKind, let yKind)):
            return points.map { "\(Quantity.format($0.x, xKind))@\(Quantity.format($0.y, yKind))" }.joined(separator: ", ")
        case (.curve(let points), _): return "\(points.count) points"
        }
    }
}
