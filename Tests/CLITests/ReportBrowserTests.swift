import Foundation
import TestSupport
import XCTest

/// Reports rendered in a real headless browser (Chromium from Debian's packages, which .ci/run
/// installs): each page loads without a console message (the page's policy forbids loading
/// anything, and the browser reports any attempt), its charts are in the rendered DOM, and a
/// screenshot is taken. Skipped without Chromium unless XPUSIM_REQUIRE_CLUSTER=1.
final class ReportBrowserTests: XCTestCase {
    var temporary: URL!
    override func setUpWithError() throws { temporary = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temporary) }

    func chromium() throws -> String {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        if ProcessInfo.processInfo.environment["XPUSIM_REQUIRE_CLUSTER"] == "1" { XCTFail("Chromium is not installed") }
        throw XCTSkip("Chromium is not installed (apt-get install chromium)")
    }

    /// Runs the browser on `page`; returns the rendered DOM and the console lines it logged.
    func render(_ browser: String, _ page: String, screenshot: String) throws -> (dom: String, console: [String]) {
        func launch(_ arguments: [String]) throws -> CommandResult {
            try runProgram(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"] + arguments)
        }
        let url = URL(fileURLWithPath: page).absoluteString
        let dom = try launch(["--dump-dom", url])
        XCTAssertEqual(dom.status, 0, dom.stderr)
        let shot = try launch(["--window-size=1000,2400", "--screenshot=\(screenshot)", url])
        XCTAssertEqual(shot.status, 0, shot.stderr)
        let console = (dom.stderr + shot.stderr).split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") }
        return (dom.stdout, console)
    }

    func testReportsRenderInChromium() throws {
        let browser = try chromium()
        let env = ["XPUSIM_DB": temporary.appendingPathComponent("runs.sqlite").path]
        func x(_ args: [String]) throws {
            let r = try xpusim(args, environment: env)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
        }
        let decode = "workloads/llama-3.1-8b-decode-b64-ctx2048.yaml"
        try x(["run", "--chip", "h100-sxm", "--workload", decode])
        try x(["run", "--chip", "h20", "--workload", decode])
        try x(["run", "--system", "dgx-h100", "--workload", "workloads/llama2-70b-layer-tp8-prefill2048.yaml"])
        try x(["sweep", "run", "workloads/sweeps/h100-small.yaml", "--no-progress"])
        let pages: [(String, [String], Int)] = [
            ("run", ["1"], 6), ("system", ["3"], 9), ("compare", ["--compare", "1", "2"], 4), ("sweep", ["workloads/sweeps/h100-small.yaml"], 2),
        ]
        for (name, subject, charts) in pages {
            let html = temporary.appendingPathComponent("\(name).html").path
            try x(["report"] + subject + ["-o", html])
            let png = temporary.appendingPathComponent("\(name).png").path
            let (dom, console) = try render(browser, html, screenshot: png)
            XCTAssertEqual(console, [], "\(name): the page logged to the console")
            XCTAssertEqual(dom.components(separatedBy: "<svg ").count - 1, charts, "\(name): charts in the rendered page")
            XCTAssertTrue(dom.contains("<circle") || dom.contains("<rect"), name)
            let size = (try FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
            XCTAssertGreaterThan(size, 20_000, "\(name): the screenshot is blank")
        }
        // The console check can fail: a page that tries to load an image is reported.
        let bad = temporary.appendingPathComponent("bad.html").path
        let html = try String(contentsOfFile: temporary.appendingPathComponent("run.html").path, encoding: .utf8)
        try html.replacingOccurrences(of: "<footer>", with: "<img src=\"http://example.invalid/x.png\"><footer>").write(
            toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertFalse(try render(browser, bad, screenshot: temporary.appendingPathComponent("bad.png").path).console.isEmpty)
    }

    /// Text from user files is escaped: a workload named with markup shows as text.
    func testUserTextIsEscaped() throws {
        let env = ["XPUSIM_DB": temporary.appendingPathComponent("runs.sqlite").path]
        let trace = temporary.appendingPathComponent("t.yaml").path
        let original = try String(contentsOfFile: packageRoot + "/workloads/hbm-copy.yaml", encoding: .utf8)
        let renamed = original.replacingOccurrences(
            of: #"(?m)^name: .*$"#, with: "name: \"<script>alert(1)</script>\"", options: .regularExpression)
        XCTAssertNotEqual(renamed, original)
        try renamed.write(toFile: trace, atomically: true, encoding: .utf8)
        XCTAssertEqual(try xpusim(["run", "--chip", "h100-sxm", "--workload", trace], environment: env).status, 0)
        let out = temporary.appendingPathComponent("r.html").path
        let r = try xpusim(["report", "1", "-o", out], environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        let page = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertFalse(page.contains("<script"))
        XCTAssertTrue(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }
}
