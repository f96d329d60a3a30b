#!/usr/bin/env python3
"""Regenerate the validation digest under chips/measured/ from ../shared/validation/raw.

The digest is what `xpusim validate`, `xpusim calibrate` and the accuracy tests read, so that they
run on a fresh clone without the raw files. It keeps, per raw file, only the rows and columns the
data sets use (Sources/Validation/DataSets.swift, PowerValidation.swift), and appends to every row
the source repository, commit and licence from the raw folder's MANIFEST.csv. A source without a
licence would give its figures only; every source used here has one (checked below).

    python3 scripts/make-digest.py                       # writes chips/measured/<source>/<file>.csv
    python3 scripts/make-digest.py --raw DIR --out DIR   # elsewhere (the drift test compares)

The output is deterministic: the same raw files give byte-identical digests.
"""

import argparse
import csv
import io
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

VIDUR_MODELS = [
    "meta-llama__Llama-2-7b-hf", "internlm__internlm-20b", "meta-llama__Llama-2-70b-hf",
    "codellama__CodeLlama-34b-Instruct-hf", "Qwen__Qwen-72B", "microsoft__phi-2",
]
VIDUR_OPS = [
    "attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj", "mlp_act", "add", "attn_rope",
    "input_layernorm", "post_attention_layernorm", "emb",
]
VIDUR_SHAPE = ["n_head", "n_kv_head", "n_embd", "n_expanded_embd", "use_gated_mlp", "num_tokens",
               "num_tensor_parallel_workers"]


# Sources without a licence whose measured figures alone are kept (numbers, no text), and why that is enough.
FIGURES_ONLY = {
    "nccl_tests_h100/gcp_a3mega_2node_16xH100_all_reduce_perf.csv":
        "message size and the out-of-place and in-place times of nccl-tests' all_reduce_perf",
}
# Where MANIFEST.csv's units are wrong, and what the source's code says instead.
VIDUR_NETWORK_UNITS = ("ms; size = bytes per rank (vidur/profiling/collectives/collectives_wrapper.py writes "
                       "\"size\": self._size * 2 for fp16 buffers of _size elements; MANIFEST.csv says elements)")
UNITS_CORRECTED = {
    "vidur/network__h100_dgx__all_reduce.csv": VIDUR_NETWORK_UNITS,
    "vidur/network__h100_dgx__send_recv.csv": VIDUR_NETWORK_UNITS,
}


def spec():
    """(raw file, header to give a headerless file or None, columns kept (None: all; "?name": if present), row filter or None)."""
    files = []
    for model in VIDUR_MODELS:
        files.append((f"vidur/compute__h100__{model}__mlp.csv", None,
                      VIDUR_SHAPE + [f"?time_stats.{op}.median" for op in VIDUR_OPS], None))
    files += [
        ("llmcompass/matmul_A100.csv", ["m", "n", "k", "latency", "throughput"], None, None),
        ("llmcompass/softmax_A100.csv", ["m", "n", "g_elements_per_s"], None, None),
        ("llmcompass/layernorm_A100.csv", ["m", "n", "g_elements_per_s"], None, None),
        ("llmcompass/gelu_A100.csv", ["n", "g_elements_per_s"], None, None),
        ("deepseek_deepgemm/deepgemm_h800_fp8_gemm_readme_tables.csv", None,
         ["table", "#Groups", "M per group", "M", "N", "K", "Computation", "readme_commit", "readme_version"], None),
        ("azure_ai_benchmarking_guide/ND_H100_v5__GEMM_CuBLASLt.csv", None, None, None),
        ("azure_ai_benchmarking_guide/ND_H100_v5__HBM_Bandwidth.csv", None, None, None),
        # FlagPerf's GEMM rows: the 910B's (ascend-dmi, 8 cards) and the A100/A800's tensor-core rows, both the 8-card
        # torch.mm benchmark (suite "benchmarks") and the one-card cuBLAS toolkit (suite "toolkits").
        ("flagperf/flagperf_base_microbenchmarks.csv", None,
         ["source_path", "suite", "benchmark", "vendor", "info.产品型号", "info.单服务器内使用卡数", "core.0.header",
          "core.0.value", "power.单卡平均功耗(8卡平均)", "power.单卡平均功耗", "power.单卡最大功耗"],
         lambda row: row["benchmark"].startswith("computation-") and (
             row["vendor"] == "ascend"
             or (row["vendor"] == "nvidia" and row["benchmark"] in ("computation-BF16", "computation-FP16", "computation-TF32")))),
        ("mlenergy_leaderboard/mlenergy_v3_configurations.csv", None,
         ["model_id", "task", "weight_precision", "gpu_model", "num_gpus", "max_num_seqs", "avg_batch_size",
          "avg_output_len", "avg_power_watts", "median_itl_ms", "energy_per_token_joules"],
         lambda row: "H100" in row["gpu_model"] and row["num_gpus"] == "1" and row["task"] == "lm-arena-chat"),
        # Collectives (Sources/Validation/CollectiveValidation.swift). Vidur's `size` column is bytes:
        # its profiler writes `"size": self._size * 2  # bytes` for fp16 buffers of _size elements
        # (vidur/profiling/collectives/collectives_wrapper.py), whatever ../shared/validation/README.md says.
        ("vidur/network__h100_dgx__all_reduce.csv", None,
         ["num_workers", "devices_per_node", "size", "time_stats.all_reduce.median"], None),
        ("vidur/network__h100_dgx__send_recv.csv", None,
         ["num_workers", "devices_per_node", "size", "time_stats.send_recv.median"], None),
        ("azure_ai_benchmarking_guide/ND_H100_v5__NCCL_Bandwidth.csv", None, None, None),
        ("nccl_tests_h100/gcp_a3mega_2node_16xH100_all_reduce_perf.csv", None,
         ["size_B", "oop_time_us", "ip_time_us"], None),
        ("deepseek_deepep/deepep_h800_readme_tables.csv", None, None, None),
        ("sgl_kernel_npu_deepep_ascend/deepep_ascend_a3_readme_tables.csv", None, None, None),
        # Serving at a fixed concurrency (Sources/Validation/ServingValidation.swift): GPUStack's ShareGPT runs with
        # --max-concurrency on one H100 (vLLM, Qwen3-8B) and one 910B (vLLM Qwen3-8B, MindIE Qwen3-30B-A3B), and two 910B
        # (vLLM Qwen3-30B-A3B at -tp 2).
        ("gpustack_performance_lab/gpustack_perf_lab_serving_results.csv", None,
         ["source_path", "doc_model", "doc_hardware", "doc_engine_versions", "section", "serving_command", "case_comment",
          "Maximum request concurrency", "derived_avg_input_len", "derived_avg_output_len", "Output token throughput (tok/s)",
          "Total Token throughput (tok/s)"],
         lambda row: row["Maximum request concurrency"] != "" and row["section"] == "Other Benchmark Cases"
         and ("H100" in row["doc_hardware"] or "910B" in row["doc_hardware"])
         and (row["serving_command"].startswith("vllm serve Qwen/Qwen3-8B") or row["serving_command"].startswith("mindie serve Qwen3-30B-A3B")
              or ("910B" in row["doc_hardware"] and row["serving_command"].startswith("vllm serve Qwen/Qwen3-30B-A3B")))),
        # Training (Sources/Validation/TrainingValidation.swift): FlagPerf's Megatron Llama rows on NVIDIA and MetaX,
        # and MindSpeed-LLM's measured 910B pretraining table.
        ("flagperf/flagperf_training_results.csv", None,
         ["source_path", "vendor", "case", "col.配置", "col.precision", "col.fix_hp", "col.parallel", "col.token/p/s",
          "col.MFU", "col.mem"],
         lambda row: row["vendor"] in ("nvidia", "metax") and row["case"] in (
             "llama3_8B-megatron", "llama3_70B-megatron", "llama2_70B-megatron", "llama2_7b-megatron-deepspeed")),
        ("mindspeed_llm_910b/mindspeed_llm_readme_pretrain_perf_atlas900a2.csv", None,
         ["模型", "参数", "序列", "实现", "集群", "模式", "性能", "参考", "readme_commit"], None),
        # Serving (Sources/Validation/ServingValidation.swift): TensorRT-LLM's max-throughput table, Hopper rows with a value.
        ("tensorrt_llm_perf_overview/trtllm_perf_overview_throughput.csv", None, None,
         lambda row: row["gpu"] in ("H100", "H200") and row["Total Output Throughput (tokens/sec)"] != ""),
    ]
    return files


# DeepSeek's profile-data repository has no licence: of its H800 training kernel extract only per-class
# totals are kept (figures, no kernel names). A kernel's class is read from its name as below.
DEEPSEEK_KERNELS = "deepseek_profile_data/train_h800_ep64_kernels.csv"
DEEPSEEK_CLASSES = [
    ("grouped_gemm", "DeepGEMM grouped FP8 GEMMs of the routed experts (m_grouped_*)", lambda n: "m_grouped" in n),
    ("attention", "FlashAttention-3 forward and backward (flash::*, compute_attn*)", lambda n: "flash" in n.lower() or "attn" in n),
    ("ep_communication", "DeepEP dispatch, combine and notify (dpsk::ep::*), spin-waits for peers included",
     lambda n: "dpsk::ep" in n or "deep_ep" in n),
    ("gemm", "DeepGEMM dense FP8 GEMMs (fp8_*ptp128c*) and cuBLAS/CUTLASS GEMMs",
     lambda n: "ptp128c" in n or "fp8_gemm" in n or "cutlass::device_kernel" in n or "gemm" in n.lower()),
    ("other", "everything else: casts to FP8, transposes, norms, rotary, element-wise, memcpy and memset", lambda n: True),
]


def deepseek_kernel_classes(raw, out_dir, manifest):
    info = manifest[DEEPSEEK_KERNELS]
    head, rows = read_csv(os.path.join(raw, DEEPSEEK_KERNELS), None)
    name, dur, stream = head.index("name"), head.index("dur"), head.index("stream")
    totals = {c: [0, 0.0, set()] for c, _, _ in DEEPSEEK_CLASSES}
    for r in rows:
        for c, _, test in DEEPSEEK_CLASSES:
            if test(r[name]):
                totals[c][0] += 1
                totals[c][1] += float(r[dur])
                totals[c][2].add(r[stream])
                break
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    out.write(f"# Digest of shared/validation/raw/{DEEPSEEK_KERNELS}, written by scripts/make-digest.py; do not edit by hand.\n")
    out.write(f"# Source: {info['source_repo']} {info['source_path']} @ {info['source_commit']} ({info['license'].strip()}).\n")
    out.write(f"# Hardware: {info['hardware']}. Software: {info['software']}. Units: total_us = summed kernel durations (us).\n")
    out.write("# No licence: only per-class totals are kept (kernel counts and summed durations; no kernel names). Classes, "
              "first match: " + "; ".join(f"{c}: {what}" for c, what, _ in DEEPSEEK_CLASSES) + ".\n")
    writer.writerow(["class", "kernels", "total_us", "streams", "source_repo", "source_commit", "license"])
    for c, _, _ in DEEPSEEK_CLASSES:
        n, t, st = totals[c]
        writer.writerow([c, n, f"{t:.0f}", " ".join(sorted(st)), info["source_repo"], info["source_commit"], "none"])
    path = os.path.join(out_dir, "deepseek_profile_data", "train_h800_ep64_kernel_classes.csv")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())
    print(f"deepseek_profile_data/train_h800_ep64_kernel_classes.csv: {len(DEEPSEEK_CLASSES)} rows")
    return len(out.getvalue().encode())


def read_csv(path, header):
    with open(path, newline="", encoding="utf-8") as f:
        rows = [[cell.strip() for cell in r] for r in csv.reader(f) if any(c.strip() for c in r)]
    if header is not None:
        return header, rows
    return rows[0], rows[1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", default=os.environ.get("XPUSIM_RAW", os.path.join(ROOT, "..", "shared", "validation", "raw")))
    parser.add_argument("--out", default=os.path.join(ROOT, "chips", "measured"))
    args = parser.parse_args()

    manifest = {}
    with open(os.path.join(args.raw, "MANIFEST.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            manifest[row["file"].removeprefix("shared/validation/raw/")] = row

    total = 0
    for name, header, keep, keep_row in spec():
        info = manifest.get(name)
        if info is None:
            sys.exit(f"make-digest: {name} is not in MANIFEST.csv")
        licence = info["license"].strip()
        unlicensed = not licence or licence.lower().startswith(("none", "no licen"))
        if unlicensed and name not in FIGURES_ONLY:
            sys.exit(f"make-digest: {name} has no licence: give its figures only (FIGURES_ONLY), by hand")
        head, rows = read_csv(os.path.join(args.raw, name), header)
        if head and head[0] == "":
            head = ["kernel"] + head[1:]
        # A column named "?name" is kept where the file has it (phi-2 has no second norm).
        columns = [c.lstrip("?") for c in (keep or head) if not c.startswith("?") or c[1:] in head]
        missing = [c for c in columns if c not in head]
        if missing:
            sys.exit(f"make-digest: {name} lacks columns {missing}")
        index = [head.index(c) for c in columns]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        out.write(f"# Digest of shared/validation/raw/{name}, written by scripts/make-digest.py; do not edit by hand.\n")
        out.write(f"# Source: {info['source_repo']} {info['source_path']} @ {info['source_commit']} ({licence}).\n")
        units = UNITS_CORRECTED.get(name, info["units"])
        out.write(f"# Hardware: {info['hardware']}. Software: {info['software']}. Units: {units}.\n")
        if name in FIGURES_ONLY:
            out.write(f"# No licence: only the measured figures are kept ({FIGURES_ONLY[name]}).\n")
        writer.writerow(columns + ["source_repo", "source_commit", "license"])
        kept = 0
        for r in rows:
            r = r + [""] * (len(head) - len(r))
            if keep_row is not None and not keep_row(dict(zip(head, r))):
                continue
            writer.writerow([r[i] for i in index] + [info["source_repo"], info["source_commit"], licence])
            kept += 1
        path = os.path.join(args.out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(out.getvalue())
        total += len(out.getvalue().encode())
        print(f"{name}: {kept} rows")
    total += deepseek_kernel_classes(args.raw, args.out, manifest)
    print(f"digest: {total / 1e6:.2f} MB in {len(spec()) + 1} files under {args.out}")
    if total > 5e6:
        sys.exit("make-digest: the digest must stay under 5 MB")


if __name__ == "__main__":
    main()
