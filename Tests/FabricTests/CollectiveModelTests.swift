import Chips
import Foundation
import Systems
import Workloads
import XCTest

@testable import Fabric

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let chipsDirectory = packageRoot + "/chips"

func system(_ id: String, nodes: Int? = nil) throws -> SystemSpec { try SystemCatalog.resolve(id, nodes: nodes, chips: chipsDirectory) }
func model(_ id: String, nodes: Int? = nil) throws -> CollectiveModel {
    let spec = try system(id, nodes: nodes)
    return CollectiveModel(system: spec, library: try XCTUnwrap(spec.chip.library.collectives))
}

/// Collectives against hand-computed layouts: the bytes each rank moves over which link, the
/// latencies the library charges, the algorithm the library would choose.
final class CollectiveModelTests: XCTestCase {
    /// Two GPUs of a DGX H100, 1 GiB, without in-switch reduction: ring, Simple, each rank sends S
    /// over NVLink (reduce-scatter S/2, all-gather S/2) in two steps.
    func testTwoRankRingAllReduceMatchesTheHandLayout() throws {
        var spec = try system("dgx-h100")
        spec.scaleUp.inSwitchReduction = false
        let m = CollectiveModel(system: spec, library: try XCTUnwrap(spec.chip.library.collectives))
        let lib = m.library
        let s = Double(1 << 30)
        let r = try m.cost(.init(kind: .all_reduce, bytes: 1 << 30, ranks: 2))
        XCTAssertEqual(r.algorithm, .ring)
        XCTAssertEqual(r.protocol, .simple)
        let rate = 18 * 25e9 * lib.scaleUpEfficiency
        let stream = s / rate
        let ring = try XCTUnwrap(lib.figures(.ring))
        let latency = lib.fixedLatency + ring.baseLatency[2] + 2 * ring.hopLatencyScaleUp[2]
        XCTAssertEqual(r.time, latency + stream, accuracy: 1e-9 * r.time)
        XCTAssertEqual(r.busBandwidth, s / r.time, accuracy: 1e-6 * r.busBandwidth, "busbw = algbw for two ranks")
        XCTAssertEqual(r.links.map(\.name), ["scale-up"])
        XCTAssertEqual(r.links[0].bytes, s, accuracy: 1)
    }

    /// Eight GPUs on NVSwitch with in-switch reduction: NVLS for large messages, each rank sends its
    /// buffer once, so the bus bandwidth exceeds what a ring's link traffic allows.
    func testEightRankLargeAllReduceRunsNVLSAboveTheRingLimit() throws {
        let m = try model("dgx-h100")
        let r = try m.cost(.init(kind: .all_reduce, bytes: 1 << 32, ranks: 8))
        XCTAssertEqual(r.algorithm, .nvls)
        let ringLimit = 18 * 25e9 * m.library.scaleUpEfficiency
        XCTAssertGreaterThan(r.busBandwidth, ringLimit)
        // Small messages take a low-latency protocol instead.
        let small = try m.cost(.init(kind: .all_reduce, bytes: 4096, ranks: 8))
        XCTAssertEqual(small.protocol, .ll)
        XCTAssertLessThan(small.time, r.time)
    }

    /// NVLS runs in loops of 16 channels x 8 heads x the chunk, which NCCL shrinks to 16 KiB below
    /// 8 MiB on eight ranks (loops of 2 MiB) and to 32 KiB below 64 MiB (loops of 4 MiB); a last
    /// partial loop takes a whole loop's time, and every loop adds the library's loop latency, so
    /// the time is a staircase in the size.
    func testNVLSRunsInWholeLoopsOfNCCLsChunks() throws {
        let m = try model("dgx-h100")
        func time(_ bytes: Int) throws -> Double {
            try m.cost(.init(kind: .all_reduce, bytes: bytes, ranks: 8, algorithm: .nvls)).time
        }
        let mib = 1 << 20
        XCTAssertEqual(m.inSwitchLoops(bytes: 2 * mib + 1, heads: 8).loops, 2)
        XCTAssertEqual(m.inSwitchLoops(bytes: 2 * mib + 1, heads: 8).bytes, Double(2 * mib))
        XCTAssertEqual(m.inSwitchLoops(bytes: 8 * mib, heads: 8).bytes, Double(4 * mib), "32 KiB chunks from 8 MiB")
        XCTAssertEqual(m.inSwitchLoops(bytes: 64 * mib, heads: 8).bytes, Double(8 * mib), "64 KiB chunks from 64 MiB")
        XCTAssertEqual(m.inSwitchLoops(bytes: 1 << 30, heads: 8).bytes, Double(16 * mib), "128 KiB chunks from 1 GiB")
        XCTAssertEqual(m.inSwitchLoops(bytes: 16 * mib, heads: 4).bytes, Double(2 * mib), "four heads: loops of half the bytes")
        XCTAssertEqual(try time(2 * mib + 1), try time(4 * mib), accuracy: 1e-12, "a partial loop takes a whole loop's time")
        XCTAssertEqual(
            try time(6 * mib + 1) - time(8 * mib), 2 * m.library.inSwitchLoopLatency, accuracy: 1e-12,
            "four 2 MiB loops against two of 4 MiB: the same bytes, two more loops")
        XCTAssertGreaterThan(try time(4 * mib + 1), try time(4 * mib))
        // The reported bytes are the data, not the idle channels' share of the last loop.
        let r = try m.cost(.init(kind: .all_reduce, bytes: 2 * mib + 1, ranks: 8, algorithm: .nvls))
        XCTAssertEqual(r.dataBytes, Double(2 * mib + 1))
        XCTAssertEqual(r.loops, 2)
        XCTAssertEqual(r.loopBytes, Double(2 * mib))
    }

    /// Without in-switch reduction (HGX H800 has NVSwitch but the file says no NVLS? use a full
    /// mesh instead): the Atlas 800T A2's HCCL mesh sends S/p to every peer in each of two phases.
    func testHCCLMeshOnAFullMesh() throws {
        let m = try model("atlas-800t-a2")
        XCTAssertEqual(m.library.family, .hccl)
        let r = try m.cost(.init(kind: .all_reduce, bytes: 1 << 28, ranks: 8))
        XCTAssertEqual(r.algorithm, .mesh)
        XCTAssertEqual(r.links[0].bytes, 2 * Double(1 << 28) * 7 / 8, accuracy: 1)
        // Across servers: hierarchical, ring for 2 servers, NHR for 4.
        XCTAssertEqual(try model("atlas-800t-a2", nodes: 2).cost(.init(kind: .all_reduce, bytes: 1 << 28, ranks: 16)).algorithm, .ring)
        XCTAssertEqual(try model("atlas-800t-a2", nodes: 4).cost(.init(kind: .all_reduce, bytes: 1 << 28, ranks: 32)).algorithm, .nhr)
    }

    /// A send/recv between ranks on two nodes goes over the NICs, one per GPU; within a node over NVLink.
    func testSendRecvAcrossNodesUsesTheRanksNIC() throws {
        let m = try model("dgx-h100", nodes: 2)
        let across = try m.cost(.init(kind: .send_recv, bytes: 1 << 26, ranks: 2, ranksPerNode: 1))
        XCTAssertEqual(across.links.map(\.name), ["scale-out"])
        XCTAssertEqual(across.links[0].lineRate, 50e9, accuracy: 1, "8 x 400 Gb/s NICs over 8 GPUs")
        let within = try m.cost(.init(kind: .send_recv, bytes: 1 << 26, ranks: 2))
        XCTAssertEqual(within.links.map(\.name), ["scale-up"])
        XCTAssertLessThan(within.time, across.time)
    }

    /// Two nodes: a tree (or NVLS tree) moves S per node over the network against a ring's 2(n-1)/n S,
    /// so it wins for large messages.
    func testTwoNodeAllReducePrefersATreeForLargeMessages() throws {
        let m = try model("dgx-h100", nodes: 2)
        let r = try m.cost(.init(kind: .all_reduce, bytes: 1 << 31, ranks: 16))
        XCTAssertTrue([.tree, .nvlsTree].contains(r.algorithm), "\(r.algorithm)")
        XCTAssertEqual(r.placement, try Placement(ranks: 16, on: try system("dgx-h100", nodes: 2)))
        XCTAssertEqual(r.placement.domains, 2)
    }

    /// A CloudMatrix 384 all-to-all across every die stays inside the UB domain, and is fast to cost.
    func testCloudMatrixAllToAllAcrossEveryDie() throws {
        let spec = try system("cloudmatrix-384")
        let m = CollectiveModel(system: spec, library: try XCTUnwrap(spec.chip.library.collectives))
        let r = try m.cost(.init(kind: .all_to_all, bytes: 1 << 24, ranks: spec.totalDevices))
        XCTAssertEqual(r.placement.domains, 1)
        XCTAssertEqual(r.links.map(\.name), ["scale-up"])
    }

    /// NCCL's worked latency (collectives.md 1.1): 8 GPUs, ring, LL: 6.6 + 14 x 0.6 = 15.0 us, plus
    /// the library's fixed latency; a 1 KiB message is all latency.
    func testEightRankRingLLLatencyIsNCCLsWorkedFigure() throws {
        var spec = try system("dgx-h100")
        spec.scaleUp.inSwitchReduction = false
        let m = CollectiveModel(system: spec, library: try XCTUnwrap(spec.chip.library.collectives))
        let r = try m.cost(.init(kind: .all_reduce, bytes: 1024, ranks: 8))
        XCTAssertEqual(r.algorithm, .ring)
        XCTAssertEqual(r.protocol, .ll)
        XCTAssertEqual(r.latency, 15.0e-6 + m.library.fixedLatency, accuracy: 1e-9)
    }

    /// Four nodes: a double binary tree sends about 2S per node over the network (NCCL's x0.5), shared
    /// by the node's ranks; two nodes send S.
    func testTreeNetworkBytesFollowTheDoubleBinaryTree() throws {
        let s = 1 << 30
        for (nodes, perNode) in [(2, 1.0), (4, 2.0)] {
            let m = try model("dgx-h100", nodes: nodes)
            let plan = try XCTUnwrap(
                m.plans(.init(kind: .all_reduce, bytes: s, ranks: 8 * nodes), try Placement(ranks: 8 * nodes, on: m.system))
                    .first { $0.algorithm == .tree })
            XCTAssertEqual(plan.netBytes, perNode * Double(s) / 8, accuracy: 1, "\(nodes) nodes")
        }
    }

    /// HCCL across servers with one rank per server: the whole collective is the network phase,
    /// which must still take its time; and in a sequential plan each link class keeps its own busy time.
    func testHCCLAcrossServersWithOneRankEach() throws {
        let m = try model("atlas-800t-a2", nodes: 16)
        let s = 1 << 30
        let r = try m.cost(.init(kind: .all_reduce, bytes: s, ranks: 16, ranksPerNode: 1))
        XCTAssertEqual(r.links.map(\.name), ["scale-out"])
        XCTAssertGreaterThan(r.time, 2 * 15.0 / 16 * Double(s) / r.links[0].lineRate)
        let two = try model("atlas-800t-a2", nodes: 2).cost(.init(kind: .all_reduce, bytes: s, ranks: 16))
        XCTAssertEqual(two.links.map(\.name), ["scale-up", "scale-out"])
        for link in two.links { XCTAssertLessThanOrEqual(link.bytes / link.busy, link.lineRate * 1.0001, link.name) }
        XCTAssertNotEqual(two.links[0].busy, two.links[1].busy)
    }

    /// In a full mesh a message to one peer has one link, not all seven.
    func testFullMeshSendRecvUsesOneLink() throws {
        let m = try model("atlas-800t-a2")
        let s = 1 << 28
        let r = try m.cost(.init(kind: .send_recv, bytes: s, ranks: 2))
        let oneLink = Double(m.system.scaleUp.linksPerChip) * m.system.scaleUp.bandwidthPerLink.value / 7
        XCTAssertGreaterThan(r.time, Double(s) / oneLink)
    }

    /// LL across nodes is capped at NCCL's multi-node llMaxBw.
    func testLLIsCappedLowerAcrossNodes() throws {
        let m = try model("dgx-h100", nodes: 2)
        let r = try m.cost(.init(kind: .all_reduce, bytes: 1 << 20, ranks: 16))
        if r.protocol == .ll { XCTAssertLessThanOrEqual(r.busBandwidth, 45e9 * 1.0001) }
        let plan = try XCTUnwrap(m.library.protocolFigures(.ll))
        XCTAssertEqual(plan.bandwidthCapMultiNode ?? 0, 45e9, accuracy: 1)
    }

    func testUnevenDomainsAreRefused() throws {
        XCTAssertThrowsError(try model("dgx-h100", nodes: 2).cost(.init(kind: .all_to_all, bytes: 1 << 20, ranks: 12))) { error in
            XCTAssertTrue("\(error)".contains("whole scale-up domains"), "\(error)")
        }
    }

    func testTooManyRanksIsAClearError() throws {
        let m = try model("dgx-h100")
        XCTAssertThrowsError(try m.cost(.init(kind: .all_reduce, bytes: 1024, ranks: 16))) { error in
            XCTAssertTrue("\(error)".contains("--nodes"), "\(error)")
        }
        XCTAssertThrowsError(try m.cost(.init(kind: .all_reduce, bytes: 1024, ranks: 4, ranksPerNode: 9))) { error in
            XCTAssertTrue("\(error)".contains("ranks_per_node"), "\(error)")
        }
    }

    /// A kernel's own algorithm and protocol are run as asked; what the topology cannot run, or
    /// the algorithm does not offer, is an error that says what can.
    func testKernelNamesItsAlgorithmAndProtocol() throws {
        let m = try model("dgx-h100")
        let ring = try m.cost(.init(kind: .all_reduce, bytes: 1 << 30, ranks: 8, algorithm: .ring, protocol: .ll128))
        XCTAssertEqual(ring.algorithm, .ring)
        XCTAssertEqual(ring.protocol, .ll128)
        XCTAssertGreaterThan(ring.time, try m.cost(.init(kind: .all_reduce, bytes: 1 << 30, ranks: 8)).time)
        // A tree needs several domains; one node has one.
        XCTAssertThrowsError(try m.cost(.init(kind: .all_reduce, bytes: 1 << 20, ranks: 8, algorithm: .tree))) { error in
            XCTAssertTrue("\(error)".contains("algorithm tree cannot run all_reduce across 8 ranks of dgx-h100"), "\(error)")
            XCTAssertTrue("\(error)".contains("it can run: ring, nvls"), "\(error)")
        }
        XCTAssertThrowsError(try m.cost(.init(kind: .all_reduce, bytes: 1 << 20, ranks: 8, algorithm: .nvls, protocol: .ll))) { error in
            XCTAssertTrue("\(error)".contains("nvls runs simple"), "\(error)")
        }
        // HCCL has no NVLS at all.
        XCTAssertThrowsError(try model("atlas-800t-a2").cost(.init(kind: .all_reduce, bytes: 1 << 20, ranks: 8, algorithm: .nvls))) {
            error in XCTAssertTrue("\(error)".contains("the library has no nvls"), "\(error)")
        }
    }

    /// GCP's A3 Mega runs NCCL as Google configures it for GPUDirect-TCPXO: ring and tree only,
    /// Simple only, and its tuner's tree at every all-reduce size on two nodes; asking for NVLS or
    /// LL there names the figure that rules it out.
    func testA3MegaRunsAsGoogleConfiguresNCCL() throws {
        let m = try model("gcp-a3-mega", nodes: 2)
        for bytes in [8, 1 << 20, 1 << 24, 1 << 33] {
            let r = try m.cost(.init(kind: .all_reduce, bytes: bytes, ranks: 16))
            XCTAssertEqual(r.algorithm, .tree, "\(bytes) B")
            XCTAssertEqual(r.protocol, .simple, "\(bytes) B")
        }
        // The tuner decides only where its rules match: an all-gather is the library's choice among ring (and Simple).
        let gather = try m.cost(.init(kind: .all_gather, bytes: 1 << 24, ranks: 16))
        XCTAssertEqual(gather.algorithm, .ring)
        XCTAssertEqual(gather.protocol, .simple)
        // The kernel's own choice wins over the tuner's, within what the system runs.
        XCTAssertEqual(try m.cost(.init(kind: .all_reduce, bytes: 1 << 24, ranks: 16, algorithm: .ring)).algorithm, .ring)
        XCTAssertThrowsError(try m.cost(.init(kind: .all_reduce, bytes: 1 << 24, ranks: 16, algorithm: .nvlsTree))) { error in
            XCTAssertTrue("\(error)".contains("nvls_tree is not configured on gcp-a3-mega"), "\(error)")
            XCTAssertTrue("\(error)".contains("collectives.algorithms in"), "\(error)")
        }
        XCTAssertThrowsError(try m.cost(.init(kind: .all_reduce, bytes: 1 << 24, ranks: 16, protocol: .ll))) { error in
            XCTAssertTrue("\(error)".contains("protocol ll is not configured on gcp-a3-mega"), "\(error)")
        }
        // From three nodes the tuner's tree holds below 2 MiB only.
        let rule = try XCTUnwrap(m.system.collectives.rule(.all_reduce, nodes: 4, ranksPerNode: 8, bytes: 1_048_576))
        XCTAssertEqual(rule.below, 2 * 1_048_576)
        XCTAssertNil(m.system.collectives.rule(.all_reduce, nodes: 4, ranksPerNode: 8, bytes: 4_194_304))
        XCTAssertNil(m.system.collectives.rule(.all_reduce, nodes: 8, ranksPerNode: 8, bytes: 1))
    }

    /// A tree's pipeline fills through its chain: a message of one chunk per channel or less pays
    /// every stage in turn, so its time grows with the sum of the stage times; a long message pays
    /// the fill once, with chunks of one buffer slot (NCCL_BUFFSIZE / NCCL_STEPS).
    func testTreePipelineFillsThroughItsStages() throws {
        let m = try model("gcp-a3-mega", nodes: 2)
        let p = try Placement(ranks: 16, on: m.system)
        let plan = try XCTUnwrap(m.plans(.init(kind: .all_reduce, bytes: 1 << 30, ranks: 16), p).first { $0.algorithm == .tree })
        XCTAssertEqual(plan.fillUp, 14)
        XCTAssertEqual(plan.fillNet, 2)
        let simple = try XCTUnwrap(m.library.protocolFigures(.simple))
        XCTAssertEqual(try XCTUnwrap(simple.stepData(steps: m.library.steps, buffer: m.system.collectives.bufferSize)), 1_048_576)
        let links = RankLinks(m.system, m.library, placement: p)
        let channels = Double(m.library.channels)
        let up = links.network.resource(links.upOut).capacity / channels
        let net = links.network.resource(try XCTUnwrap(links.netOut)).capacity * 8 / channels
        // One chunk per channel: all 16 stages; at 1 GiB and more, the fill is that of 1 MiB chunks.
        for (bytes, chunk) in [(1 << 20, Double(1 << 20) / channels), (1 << 30, 1_048_576.0), (1 << 33, 1_048_576.0)] {
            let expected = 14 * chunk / up + 2 * chunk / net - max(chunk / up, chunk / net)
            XCTAssertEqual(
                m.fill(.init(kind: .all_reduce, bytes: bytes, ranks: 16), p, plan, simple, links), expected, accuracy: 1e-12, "\(bytes)")
        }
        // Rings split every step over all ranks: nothing to fill.
        let ring = try XCTUnwrap(m.plans(.init(kind: .all_reduce, bytes: 1 << 30, ranks: 16), p).first { $0.algorithm == .ring })
        XCTAssertEqual(m.fill(.init(kind: .all_reduce, bytes: 1 << 30, ranks: 16), p, ring, simple, links), 0)
    }
}
