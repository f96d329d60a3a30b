import Chips
import Foundation
import SimCore

/// A constraint between a sweep's figures: two arithmetic expressions compared, e.g.
/// `memory.hbm.bandwidth / compute.units_per_die <= 30 GB/s` or `memory.l2.size >= 2 * 48 MiB`.
/// Terms are chip figure paths (the point's value where the sweep varies it, the base chip's
/// otherwise), numbers, and numbers with a unit (`40 GB/s`, `96 MiB`, all in SI); operators
/// `+ - * /` and parentheses; comparisons `<= < >= > == !=`. A point that breaks a constraint is
/// left out of the plan.
public struct SweepConstraint: Sendable, CustomStringConvertible {
    indirect enum Expr: Sendable {
        case number(Double)
        case figure(String)
        case negate(Expr)
        case binary(Character, Expr, Expr)
    }
    public enum Comparison: String, Sendable, CaseIterable {
        case le = "<="
        case ge = ">="
        case eq = "=="
        case ne = "!="
        case lt = "<"
        case gt = ">"
    }

    public var text: String
    let lhs: Expr
    let comparison: Comparison
    let rhs: Expr
    public var description: String { text }

    /// The figure paths the constraint reads.
    public var paths: [String] {
        func walk(_ e: Expr) -> [String] {
            switch e {
            case .number: return []
            case .figure(let p): return [p]
            case .negate(let x): return walk(x)
            case .binary(_, let a, let b): return walk(a) + walk(b)
            }
        }
        return walk(lhs) + walk(rhs)
    }

    /// `known` says whether a path names a figure of the base (a chip's, by default).
    public init(_ text: String, known: @escaping (String) -> Bool = { ParameterCatalog.declaration(for: $0) != nil }) throws {
        self.text = text
        var parser = Parser(Array(text), known: known)
        let l = try parser.sum()
        guard let c = parser.comparison() else { throw SweepError("expected a comparison (<=, <, >=, >, ==, !=) after \(parser.consumed)") }
        let r = try parser.sum()
        parser.skip()
        guard parser.atEnd else { throw SweepError("unexpected \"\(parser.rest)\" after \(parser.consumed)") }
        (lhs, comparison, rhs) = (l, c, r)
    }

    /// Whether a point holds, with each figure's value (SI) from `value`.
    public func holds(_ value: (String) -> Double?) throws -> Bool {
        func eval(_ e: Expr) throws -> Double {
            switch e {
            case .number(let x): return x
            case .figure(let p):
                guard let x = value(p) else { throw SweepError("constraint \"\(text)\": \(p) is not a number on this chip") }
                return x
            case .negate(let x): return -(try eval(x))
            case .binary(let op, let a, let b):
                let (x, y) = (try eval(a), try eval(b))
                switch op {
                case "+": return x + y
                case "-": return x - y
                case "*": return x * y
                default: return x / y
                }
            }
        }
        let (a, b) = (try eval(lhs), try eval(rhs))
        guard a.isFinite && b.isFinite else {
            throw SweepError("constraint \"\(text)\" is not a finite number at this point (a division by zero?)")
        }
        let tolerance = 1e-9 * max(abs(a), abs(b))
        switch comparison {
        case .le: return a <= b + tolerance
        case .lt: return a < b - tolerance
        case .ge: return a >= b - tolerance
        case .gt: return a > b + tolerance
        case .eq: return abs(a - b) <= tolerance
        case .ne: return abs(a - b) > tolerance
        }
    }

    struct Parser {
        let chars: [Character]
        let known: (String) -> Bool
        var i = 0
        init(_ chars: [Character], known: @escaping (String) -> Bool) {
            self.chars = chars
            self.known = known
        }
        var atEnd: Bool { i >= chars.count }
        var rest: String { String(chars[min(i, chars.count)...]) }
        var consumed: String { i == 0 ? "the start" : "\"\(String(chars[..<min(i, chars.count)]).trimmingCharacters(in: .whitespaces))\"" }
        mutating func skip() { while i < chars.count && chars[i].isWhitespace { i += 1 } }
        func peek() -> Character? { i < chars.count ? chars[i] : nil }

        mutating func comparison() -> Comparison? {
            skip()
            for c in Comparison.allCases {
                let symbol = Array(c.rawValue)
                if i + symbol.count <= chars.count && Array(chars[i..<(i + symbol.count)]) == symbol {
                    i += symbol.count
                    return c
                }
            }
            return nil
        }

        mutating func sum() throws -> Expr {
            var e = try term()
            while true {
                skip()
                guard let c = peek(), c == "+" || c == "-" else { return e }
                i += 1
                e = .binary(c, e, try term())
            }
        }

        mutating func term() throws -> Expr {
            var e = try factor()
            while true {
                skip()
                guard let c = peek(), c == "*" || c == "/" else { return e }
                i += 1
                e = .binary(c, e, try factor())
            }
        }

        mutating func factor() throws -> Expr {
            skip()
            guard let c = peek() else { throw SweepError("expected a number, a figure or ( at the end") }
            if c == "-" {
                i += 1
                return .negate(try factor())
            }
            if c == "(" {
                i += 1
                let e = try sum()
                skip()
                guard peek() == ")" else { throw SweepError("expected ) after \(consumed)") }
                i += 1
                return e
            }
            if c.isNumber || c == "." {
                let start = i
                while let d = peek(),
                    d.isNumber || d == "." || d == "e" || d == "E" || d == "_"
                        || ((d == "-" || d == "+") && (chars[i - 1] == "e" || chars[i - 1] == "E"))
                {
                    i += 1
                }
                let number = String(chars[start..<i])
                // A unit: a space (or nothing), then a word starting with a letter (GB/s, MiB, GHz, W).
                var j = i
                while j < chars.count && chars[j].isWhitespace { j += 1 }
                if j < chars.count && chars[j].isLetter {
                    var k = j
                    while k < chars.count && (chars[k].isLetter || chars[k].isNumber || chars[k] == "/" || chars[k] == "%") { k += 1 }
                    let literal = number + " " + String(chars[j..<k])
                    for kind in QuantityKind.allCases {
                        if let q = Quantity.parse(literal, as: kind) {
                            i = k
                            return .number(q.value)
                        }
                    }
                    throw SweepError("\"\(literal)\" is not a quantity xpusim reads")
                }
                guard let x = Double(number.replacingOccurrences(of: "_", with: "")) else {
                    throw SweepError("\"\(number)\" is not a number")
                }
                return .number(x)
            }
            if c.isLetter {
                let start = i
                while let d = peek(), d.isLetter || d.isNumber || d == "_" || d == "." { i += 1 }
                let path = String(chars[start..<i])
                guard known(path) else {
                    throw SweepError("no figure \"\(path)\" of the base (xpusim chips show or systems show lists them)")
                }
                return .figure(path)
            }
            throw SweepError("unexpected \"\(c)\" after \(consumed)")
        }
    }
}
