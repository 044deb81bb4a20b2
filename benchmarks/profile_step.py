"""Where one zoo training step spends its time: the XLA program of a GPT and
of an LSTM step, read instruction by instruction, and timed by category.

    python benchmarks/profile_step.py                  # both models (minutes)
    python benchmarks/profile_step.py --family gpt     # one of them
    python benchmarks/profile_step.py --tiny --out p.json  # a smoke run

The models, sizes and training path are `speed.py`'s (``SIZES["full"]``:
vocabulary 65, batch 32 x 64 tokens; LSTM embedding 128, 256 units; GPT 4
layers, 4 heads, width 128, feed-forward 512): zoo's factories,
`zoo.training.compile_model` (XLA) and `model.fit` on one fixed batch. Each
model is profiled in a fresh Python process, as `speed.py` measures, with
``XLA_FLAGS`` set before TensorFlow starts, so that XLA writes the program it
compiles for the train step (its optimized HLO) to a temporary folder.

Per model, in ``benchmarks/results/profile.json`` (see ``benchmarks/PROFILE.md``):

hlo     the instructions of the optimized program: the entry computation and
        the bodies of its while loops, each fusion counted once and classified
        by what it contains: dots and convolutions (FLOPs from the shapes),
        elementwise fusions (softmax, layer norm, GELU, the LSTM's gates),
        the optimizer update (ops under the optimizer's name scope), loss and
        metrics (``compile_loss`` and the metrics' unscoped ops), copies and
        transposes, while loops (the recurrence), other (gathers, scatters).
        Also the weight gradients that TensorFlow computes once per batch
        element and then sums (the gradient of a broadcast BatchMatMulV2).
time    shares of a warm step, from TensorFlow's profiler: the XLA CPU runtime
        records one trace event per instruction it runs, named as in the HLO,
        so each event gets its instruction's category (read from the trace's
        xplane with TensorFlow's own protobuf; no TensorBoard plugin needed).
        Instructions running at once share the moment; a moment in a while
        loop with nothing running is the loop's overhead; other such moments
        are the runtime's, or stalls when they last 0.1 ms or more (on a
        shared machine, mostly other work holding the CPU: the threads' wait
        for a CPU, from Linux's schedstat, is reported beside). "host" is the
        rest of the wall time of a step in `fit` (one batch's start to the
        next) outside its XLA execution. Then, without the profiler: the same
        step with Keras's ``steps_per_execution`` = 8, alternating with the
        default, to measure what the host's part costs; and the optimizer
        update, and the loss with the metrics, each compiled and timed alone.
memory  resident set size: Python alone, after importing TensorFlow and
        Keras, after building the model, after creating the dataset, after
        the first steps (compilation), after the timed steps, and the peak
        before the profiler starts; beside them the bytes zoo's choices
        account for: the weights, Adam's two slots per weight, and XLA's
        buffers for one step (from its buffer assignment).

The profiler slows some steps (its cost, profiled over unprofiled step time,
is reported); the shares are those of the profiled steps. The program is
dumped, so compilation is slower than in `speed.py`: its time is not
reported. The file is not named ``profile.py``: with ``benchmarks/`` first on
``sys.path`` (as when a benchmark runs), that name would hide the standard
library's ``profile``, which ``cProfile`` imports, and Keras imports IPython,
which imports ``cProfile``: every benchmark that imports Keras would fail.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
import speed  # noqa: E402  (benchmarks/ is not a package)

FAMILIES = ("lstm", "gpt")
# What an instruction of the program is (its count in "hlo")...
HLO_CATEGORIES = (
    "dot",
    "elementwise",
    "optimizer",
    "loss_metrics",
    "copy_transpose",
    "while_loop",
    "other",
)
# ...and where a step's wall time goes (the shares sum to 1).
CATEGORIES = (
    "dot",
    "elementwise",
    "optimizer",
    "loss_metrics",
    "copy_transpose",
    "loop_overhead",
    "xla_runtime",
    "stall",
    "other",
    "host",
)
# A moment of an execution with none of its instructions running is the
# runtime's (dispatching the next one: microseconds), or, when it lasts this
# long, a stall: on a shared machine, most likely the OS running other work.
STALL_SECONDS = 100e-6
# Warm-up steps (compilation), timed steps without the profiler, profiled
# steps; steps per call and rounds of the steps_per_execution comparison.
RUNS = {
    "full": {"warmup": 3, "timed": 20, "profiled": 10, "spe": 8, "spe_rounds": 5},
    "tiny": {"warmup": 1, "timed": 4, "profiled": 3, "spe": 2, "spe_rounds": 2},
}
STEPS_PER_EXECUTION = "steps_per_execution"

# --- reading XLA's optimized HLO ------------------------------------------------

# Instructions that emit no code: they name, slice or pack existing buffers.
FREE = {"parameter", "constant", "get-tuple-element", "tuple", "bitcast"}
# Data movement: no arithmetic. A fusion of only these (or one with a
# transpose) is a copy, not elementwise work.
MOVES = FREE | {
    "copy",
    "transpose",
    "reshape",
    "broadcast",
    "slice",
    "dynamic-slice",
    "dynamic-update-slice",
    "concatenate",
    "pad",
    "iota",
    "reverse",
}
GATHERS = {"gather", "scatter", "sort", "custom-call", "rng", "rng-bit-generator"}
CONTROL = {"while", "conditional", "call"}
_ITEMSIZE = {"f64": 8, "s64": 8, "f32": 4, "s32": 4, "bf16": 2, "f16": 2}

_HEADER = re.compile(r"^(ENTRY )?%(?P<name>[\w.\-]+) .*\{\s*$")
_INSTRUCTION = re.compile(
    r"^\s*(?:ROOT )?%(?P<name>[\w.\-]+) = (?P<type>.+?) "
    r"(?P<op>[a-z][\w\-]*)\((?P<rest>.*)$"
)
_ARRAY = re.compile(r"^(?P<dtype>\w+)\[(?P<dims>[\d,]*)\]")


def _dims(text):
    return [int(d) for d in text.split(",") if d]


def _attr(rest, key):
    found = re.search(rf"\b{key}=\{{([\d,]*)\}}", rest)
    return _dims(found[1]) if found else []


def parse_hlo(text: str) -> dict:
    """The computations of an HLO text dump: ``{name: [instruction, ...]}``,
    each instruction a dict (name, op, shape, operands, calls, op_name,
    op_type, its operands' text and the rest of its line); the entry
    computation's name under ``"__entry__"``."""
    computations, current = {}, None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header and not line.startswith(" "):
            current = computations.setdefault(header["name"], [])
            if header.group(1):
                computations["__entry__"] = header["name"]
            continue
        found = _INSTRUCTION.match(line) if current is not None else None
        if not found:
            continue
        rest = found["rest"]
        depth, end = 1, len(rest)
        for i, char in enumerate(rest):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0:
                end = i
                break
        array = _ARRAY.match(found["type"])
        metadata = re.search(r"metadata=\{([^}]*)\}", rest)
        meta = metadata[1] if metadata else ""
        op_name = re.search(r'op_name="([^"]*)"', meta)
        op_type = re.search(r'op_type="([^"]*)"', meta)
        current.append(
            {
                "name": found["name"],
                "op": found["op"],
                "dtype": array["dtype"] if array else None,
                "shape": _dims(array["dims"]) if array else None,
                "operands": re.findall(r"%([\w.\-]+)", rest[:end]),
                "calls": re.findall(
                    r"\b(?:calls|body|condition|to_apply)=%([\w.\-]+)", rest[end:]
                ),
                "op_name": op_name[1] if op_name else "",
                "op_type": op_type[1] if op_type else "",
                "args": rest[:end],
                "rest": rest[end:],
            }
        )
    return computations


def dot_flops(ins, shapes) -> int:
    """2 x output elements x contracted elements of a dot or convolution."""
    out = math.prod(ins["shape"] or [])
    lhs = shapes.get(ins["operands"][0]) if ins["operands"] else None
    if ins["op"] == "dot":
        contracted = [lhs[i] for i in _attr(ins["rest"], "lhs_contracting_dims")]
        return 2 * out * math.prod(contracted)
    rhs = shapes.get(ins["operands"][1]) if len(ins["operands"]) > 1 else None
    labels = re.search(r"dim_labels=\w+_(\w+)->", ins["rest"])
    if not rhs or not labels or "o" not in labels[1]:
        return 0
    # Every weight but the output-feature axis meets each output element once.
    return 2 * out * math.prod(rhs) // rhs[labels[1].index("o")]


# The TF ops of zoo's metrics (`Perplexity`, `MaskedAccuracy`) and of Keras's
# loss tracker, which run outside any name scope.
METRIC_OP_TYPES = {
    "AddV2",
    "ArgMax",
    "Cast",
    "DivNoNan",
    "Equal",
    "Exp",
    "Maximum",
    "Mul",
    "NotEqual",
    "RealDiv",
    "SparseSoftmaxCrossEntropyWithLogits",
    "Sum",
}


def _scope(op_name: str, op_type: str, model_name: str, optimizer_name: str) -> str:
    """ "optimizer", "loss_metrics", "model" or "" (unknown) for a TF op.

    The optimizer's ops run under its name scope ("adam/..."), the compiled
    loss under "compile_loss/..." (its gradient under "gradient_tape/...");
    the model's under its own name ("gpt_1/...", "lstm_lm_1/..."). The fused
    recurrent layers' hand-written backward passes run under "while/..." or
    under no scope, as do the metrics and the loss tracker: an op with a bare
    name ("Add_3", "ArgMax", "concat") is the metrics' if its type is one of
    theirs, else the model's (the tape's AddN, the backward pass's concat
    and MatMul)."""
    path = op_name.removeprefix("gradient_tape/")
    head = path.split("/")[0]
    if not op_name or op_name == "XLA_Args":
        return ""
    if head == optimizer_name or head.startswith(optimizer_name + "_"):
        return "optimizer"
    if head.startswith("compile_loss"):
        return "loss_metrics"
    if head.startswith(model_name) or head == "while":
        return "model"
    if "/" not in path or head == "SparseSoftmaxCrossEntropyWithLogits":
        return "loss_metrics" if op_type in METRIC_OP_TYPES else "model"
    return ""


def _kind(names: str) -> str:
    """What an elementwise fusion computes, from its TF op names and types."""
    text = names.lower()
    for kind, words in (
        ("softmax", ("softmax",)),
        ("layer_norm", ("norm", "moments", "rsqrt")),
        ("gelu", ("gelu", "erf")),
        ("gates", ("sigmoid", "tanh")),
        ("bias_gradient", ("biasaddgrad",)),
    ):
        if any(w in text for w in words):
            return kind
    return "other"


def classify(computations, *, model_name, optimizer_name) -> dict:
    """Every instruction of the entry computation and of the computations it
    runs (while bodies and conditions), by category: ``{name: info}``."""
    shapes = {
        ins["name"]: ins["shape"]
        for body in computations.values()
        if isinstance(body, list)
        for ins in body
    }
    entry = computations["__entry__"]
    out, todo, seen = {}, [(entry, None)], set()
    while todo:
        name, loop = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for ins in computations[name]:
            if ins["op"] in FREE:
                continue
            inner = []
            if ins["op"] == "fusion":
                inner = [i for c in ins["calls"] for i in computations.get(c, [])]
            if ins["op"] in CONTROL:
                todo += [(c, ins["name"]) for c in ins["calls"]]
            ops = {i["op"] for i in inner} or {ins["op"]}
            scope = _scope(ins["op_name"], ins["op_type"], model_name, optimizer_name)
            if not scope:
                votes = [
                    _scope(i["op_name"], i["op_type"], model_name, optimizer_name)
                    for i in inner
                ]
                votes = [v for v in votes if v]
                scope = max(set(votes), key=votes.count) if votes else ""
            dots = [i for i in inner if i["op"] in ("dot", "convolution")]
            info = {
                "op": ins["op"],
                "scope": scope or "model",
                "loop": loop,
                "op_name": ins["op_name"],
                "operands": ins["operands"],
            }
            if ins["op"] in ("dot", "convolution") or dots:
                info["category"] = "dot"
                info["flops"] = sum(dot_flops(d, shapes) for d in dots or [ins])
                info["shape"] = ins["shape"]
                info["bytes"] = _ITEMSIZE.get(ins["dtype"], 4) * math.prod(ins["shape"])
            elif ins["op"] in CONTROL:
                info["category"] = "while_loop"
                info["body"] = ins["calls"]
                trips = re.search(r'"known_trip_count":\{"n":"(\d+)"', ins["rest"])
                info["trip_count"] = int(trips[1]) if trips else None
            elif scope in ("optimizer", "loss_metrics"):
                info["category"] = scope
            elif ops & GATHERS:
                info["category"] = "other"
            elif ops <= MOVES or (ops & {"transpose", "copy"} and "reduce" not in ops):
                info["category"] = "copy_transpose"
            else:
                info["category"] = "elementwise"
                names = " ".join(
                    [ins["op_name"], ins["op_type"]]
                    + [f"{i['op_name']} {i['op_type']}" for i in inner]
                )
                info["kind"] = _kind(names)
            out[ins["name"]] = info
    # TF's gradient of a matmul whose weight was broadcast over the batch (a
    # BatchMatMulV2: EinsumDense, or ops.matmul of a 3-D input by a 2-D
    # kernel): one matmul per batch element, each a whole weight's size,
    # then their sum over the batch ("MatMul/Sum_1").
    for info in out.values():
        if re.search(r"/MatMul/Sum_1$", info["op_name"]):
            info["pattern"] = "batch_sum"
            for operand in info["operands"]:
                if out.get(operand, {}).get("category") == "dot":
                    out[operand]["pattern"] = "batched_weight_gradient"
    # A while loop's trip count, when XLA did not annotate it: the constant its
    # condition compares the counter with.
    for info in out.values():
        if info["category"] == "while_loop" and info["trip_count"] is None:
            for body in info["body"]:
                consts = [
                    int(ins["args"])
                    for ins in computations.get(body, [])
                    if ins["op"] == "constant" and ins["args"].isdigit()
                ]
                info["trip_count"] = info["trip_count"] or (
                    max(consts) if consts else None
                )
    return out


def summarize_hlo(instructions: dict) -> dict:
    """Counts by category, dot FLOPs, elementwise kinds, and the while loops."""
    counts = dict.fromkeys(HLO_CATEGORIES, 0)
    kinds, scopes = {}, {}
    flops = 0
    for info in instructions.values():
        counts[info["category"]] += 1
        scopes[info["scope"]] = scopes.get(info["scope"], 0) + 1
        if info["category"] == "elementwise":
            kinds[info["kind"]] = kinds.get(info["kind"], 0) + 1
    loops = []
    for name, info in instructions.items():
        if info["category"] != "while_loop":
            continue
        trips = info["trip_count"]
        members = {n: i for n, i in instructions.items() if i["loop"] == name}
        per_iteration = sum(i.get("flops", 0) for i in members.values())
        loops.append(
            {
                "name": name,
                "op_name": info["op_name"],
                "trip_count": trips,
                "instructions_per_iteration": len(members),
                "by_category": {
                    c: sum(1 for i in members.values() if i["category"] == c)
                    for c in HLO_CATEGORIES
                    if any(i["category"] == c for i in members.values())
                },
                "dot_shapes": sorted(
                    {str(i["shape"]) for i in members.values() if "flops" in i}
                ),
                "dot_flops_per_iteration": per_iteration,
            }
        )
    for info in instructions.values():
        if "flops" in info:
            trips = instructions[info["loop"]]["trip_count"] if info["loop"] else 1
            flops += info["flops"] * (trips or 1)
    batched = [i for i in instructions.values() if i.get("pattern")]
    return {
        "instructions": len(instructions),
        "counts": counts,
        "batched_weight_gradients": {
            "dots": sum(1 for i in batched if i["category"] == "dot"),
            # What the per-batch-element gradients hold before they are summed.
            "dot_output_bytes": sum(i.get("bytes", 0) for i in batched),
            "sums": sum(1 for i in batched if i["pattern"] == "batch_sum"),
            "dot_flops": sum(i.get("flops", 0) for i in batched),
        },
        "elementwise_kinds": dict(sorted(kinds.items())),
        "by_scope": dict(sorted(scopes.items())),
        "dot_flops_per_step": flops,
        "while_loops": loops,
    }


def find_train_module(dump: Path) -> Path:
    """The optimized HLO of Keras's compiled train step (the largest module
    named after its ``one_step_on_data``)."""
    modules = sorted(
        dump.glob("*one_step_on_data*after_optimizations.txt"),
        key=lambda p: p.stat().st_size,
    )
    if not modules:
        raise SystemExit(f"XLA wrote no train-step program to {dump}")
    return modules[-1]


def xla_buffer_bytes(module: Path) -> dict:
    """XLA's buffers for one step, from its buffer assignment: all of them,
    the temporary ones (activations and gradients, reused within the step)
    and the parameters (weights, optimizer slots, metrics, the batch)."""
    path = module.with_name(module.name.replace(".txt", "-buffer-assignment.txt"))
    if not path.exists():
        return {}
    text = path.read_text()
    sizes = re.findall(r"^allocation \d+: size (\d+), ([a-z-]+)", text, re.M)
    return {
        "xla_buffer_bytes": sum(int(n) for n, _ in sizes),
        "xla_temp_bytes": sum(int(n) for n, k in sizes if k == "preallocated-temp"),
        "xla_parameter_bytes": sum(int(n) for n, k in sizes if k == "parameter"),
    }


# --- reading the profiler's trace -------------------------------------------------


def _xplane_module():
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError:  # TensorFlow moved it: the standalone tsl package
        from tsl.profiler.protobuf import xplane_pb2  # type: ignore[no-redef]
    return xplane_pb2


def read_trace(logdir: Path) -> tuple[list, list]:
    """The host plane's events as ``(start_ps, end_ps, name)``: the XLA
    executions (``CpuExecutable::ExecuteAsyncOnStream``) and every other."""
    xplane_pb2 = _xplane_module()
    files = sorted(logdir.rglob("*.xplane.pb"))
    if not files:
        raise SystemExit(f"the profiler wrote no trace under {logdir}")
    space = xplane_pb2.XSpace()
    space.ParseFromString(files[-1].read_bytes())
    executions, events = [], []
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            base = line.timestamp_ns * 1000
            for e in line.events:
                start = base + e.offset_ps
                item = (start, start + e.duration_ps, names.get(e.metadata_id, ""))
                if item[2] == "CpuExecutable::ExecuteAsyncOnStream":
                    executions.append(item)
                else:
                    events.append(item)
    return sorted(executions), events


def _loops_of(name, instructions):
    """The while loops an instruction runs in, innermost first."""
    loops, loop = [], instructions[name]["loop"]
    while loop:
        loops.append(loop)
        loop = instructions[loop]["loop"]
    return loops


def attribute(executions, events, instructions) -> dict:
    """Split the XLA executions' wall time among the program's instructions.

    Each moment of an execution goes to the instructions running then (in
    equal parts when several run at once). A while loop's own event marks
    only its launch: the loop runs from its first body instruction's start
    to its last one's end, and a moment in there with nothing running is the
    loop's overhead (the counter, the condition, starting each iteration);
    any other moment with nothing running is the runtime's (dispatch,
    allocation), unless it lasts `STALL_SECONDS` or more: a stall. Returns
    seconds by category and by instruction, summed over the executions."""
    points = []
    for ws, we in ((s, e) for s, e, _ in executions):
        spans = {}
        for start, end, name in events:
            s, e = max(start, ws), min(end, we)
            if name not in instructions or s >= e:
                continue
            loops = _loops_of(name, instructions)
            if instructions[name]["category"] == "while_loop":
                loops = [name, *loops]
            else:
                points += [(s, 1, name), (e, -1, name)]
            for loop in loops:
                first, last = spans.get(loop, (s, e))
                spans[loop] = (min(first, s), max(last, e))
        for loop, (s, e) in spans.items():
            points += [(s, 1, f"{loop} (overhead)"), (e, -1, f"{loop} (overhead)")]
        points += [(ws, 2, ""), (we, -2, "")]
    points.sort(key=lambda p: (p[0], p[1]))
    by_category = dict.fromkeys(CATEGORIES, 0.0)
    by_instruction, leaves, loops = {}, {}, {}
    gap = []  # the pieces of the current moment with nothing running

    def close_gap():
        seconds = sum(span for span, _ in gap)
        for span, loop in gap:
            if seconds >= STALL_SECONDS:
                by_category["stall"] += span
            elif loop:
                by_category["loop_overhead"] += span
                by_instruction[loop] = by_instruction.get(loop, 0.0) + span
            else:
                by_category["xla_runtime"] += span
        gap.clear()

    inside, last = 0, None
    for t, kind, name in points:
        if last is not None and inside and t > last:
            span = (t - last) / 1e12
            for leaf in leaves:
                share = span / len(leaves)
                by_category[instructions[leaf]["category"]] += share
                by_instruction[leaf] = by_instruction.get(leaf, 0.0) + share
            if not leaves:
                # The innermost loop running (the latest to start), if any.
                gap.append((span, max(loops, key=loops.get) if loops else None))
        last = t
        if kind in (2, -2):
            inside += kind // 2
            close_gap()
        elif name.endswith(" (overhead)"):
            if kind == 1:
                loops[name] = t
            else:
                loops.pop(name, None)
        elif kind == 1:
            close_gap()
            leaves[name] = leaves.get(name, 0) + 1
        else:
            leaves[name] -= 1
            if not leaves[name]:
                del leaves[name]
    return {"by_category": by_category, "by_instruction": by_instruction}


def summarize_time(executions, events, instructions, hlo, profiled) -> dict:
    """Shares of a profiled step (`profiled`: wall seconds per step in `fit`)
    by category: the host's is the median over steps of the part of the step
    outside its XLA execution; the rest is split as the trace divides all
    the executions' time. Seconds are of the median step. Fills each of
    `hlo`'s while loops with its time per iteration: its body's and its
    own overhead's."""
    split = attribute(executions, events, instructions)
    wall = statistics.median(profiled)
    runs = [(e - s) / 1e12 for s, e, _ in executions]
    xla = statistics.median(runs)
    # Step i's wall time (one batch's start to the next's) holds execution i:
    # the host's share is the median over steps of what the execution leaves.
    pairs = zip(profiled, runs, strict=False)
    host = statistics.median(max(0.0, 1.0 - r / w) for w, r in pairs)
    busy = sum(split["by_category"].values()) or 1.0

    def seconds(traced):  # of the median step
        return traced / busy * (1.0 - host) * wall

    shares = {c: seconds(split["by_category"][c]) / wall for c in CATEGORIES}
    shares["host"] = host
    by_instruction = split["by_instruction"]
    for loop in hlo["while_loops"]:
        trips = loop["trip_count"] or 1
        own = by_instruction.get(f"{loop['name']} (overhead)", 0.0)
        body = sum(
            t
            for n, t in by_instruction.items()
            if instructions.get(n, {}).get("loop") == loop["name"]
        )
        loop["overhead_s_per_step"] = seconds(own)
        loop["body_s_per_step"] = seconds(body)
        loop["overhead_us_per_iteration"] = seconds(own) / trips * 1e6
        loop["body_us_per_iteration"] = seconds(body) / trips * 1e6
    # How fast the dots run, by kind: the weight gradients computed per batch
    # element, the dots of the recurrence (one per time step), the others.
    dots = {}
    for name, info in instructions.items():
        if info["category"] != "dot":
            continue
        group = info.get("pattern") or ("recurrence" if info["loop"] else "other")
        trips = instructions[info["loop"]]["trip_count"] if info["loop"] else 1
        entry = dots.setdefault(group, {"count": 0, "seconds_per_step": 0.0})
        entry["count"] += 1
        entry["seconds_per_step"] += seconds(by_instruction.get(name, 0.0))
        entry["flops_per_step"] = entry.get("flops_per_step", 0) + info["flops"] * (
            trips or 1
        )
    for entry in dots.values():
        time_s, flops = entry["seconds_per_step"], entry["flops_per_step"]
        entry["gflops"] = flops / time_s / 1e9 if time_s else None
    batched = sum(
        by_instruction.get(n, 0.0) for n, i in instructions.items() if i.get("pattern")
    )
    ranked = sorted(by_instruction.items(), key=lambda kv: -kv[1])

    def describe(name, traced):
        info = instructions.get(name.removesuffix(" (overhead)"), {})
        overhead = name.endswith(" (overhead)")
        return {
            "name": name,
            "category": "loop_overhead" if overhead else info["category"],
            "op_name": info.get("op_name", ""),
            "kind": info.get("kind") or info.get("pattern"),
            "seconds_per_step": seconds(traced),
        }

    largest = {}  # the three largest instructions of each category
    for name, traced in ranked:
        entry = describe(name, traced)
        group = largest.setdefault(entry["category"], [])
        if len(group) < 3:
            group.append(entry)
    return {
        "shares": shares,
        "dots": dots,
        "batched_weight_gradient_share": seconds(batched) / wall,
        "profiled_median_step_s": wall,
        "xla_execution_s": xla,
        "executions": len(executions),
        "profiled_step_s": profiled,
        "seconds_per_step": {c: shares[c] * wall for c in CATEGORIES},
        "trace_events": len(events),
        "top_instructions": [describe(n, t) for n, t in ranked[:15]],
        "largest_by_category": largest,
    }


# --- the worker: one model in a fresh process ------------------------------------


def _rss_mb() -> float:
    """This process's resident set now (Linux), else its peak so far."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, IndexError, ValueError):
        return _peak_mb()


def _schedule() -> tuple[float, float]:
    """Seconds this process's threads have run on a CPU, and have waited,
    runnable, for one (Linux's schedstat): the wait is the time the machine's
    other work took from this one. Zeros where the kernel does not say."""
    ran = waited = 0
    for path in Path("/proc/self/task").glob("*/schedstat"):
        try:
            fields = path.read_text().split()
        except OSError:  # a thread that ended meanwhile
            continue
        ran, waited = ran + int(fields[0]), waited + int(fields[1])
    return ran / 1e9, waited / 1e9


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _StepClock:
    """Times of every ``on_train_batch_begin`` and ``on_train_batch_end``."""

    def __init__(self):
        import keras

        clock = self

        class Callback(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                clock.begins.append(time.perf_counter())

            def on_train_batch_end(self, batch, logs=None):
                clock.ends.append(time.perf_counter())

        self.begins, self.ends = [], []
        self.callback = Callback()

    def span(self, per_call=1):
        """Wall time per step from the first call's start to the last's end."""
        return (self.ends[-1] - self.begins[0]) / (len(self.ends) * per_call)

    def steps(self, per_call=1):
        """Wall time per step, begin to begin (host work between calls
        included), and per call, begin to end."""
        walls = [
            (b - a) / per_call
            for a, b in zip(self.begins, self.begins[1:], strict=False)
        ]
        calls = [
            (e - b) / per_call for b, e in zip(self.begins, self.ends, strict=False)
        ]
        return walls, calls


def _fit(model, ds, calls, per_call=1, clock=None):
    clock = clock or _StepClock()
    model.fit(
        ds,
        steps_per_epoch=calls * per_call,
        epochs=1,
        verbose=0,
        callbacks=[clock.callback],
    )
    return clock.steps(per_call)


def steps_per_execution(model, ds, k, rounds):
    """Seconds per step with one step per call (what zoo does) and with `k`
    (Keras's ``steps_per_execution``: one call runs `k` steps in a loop,
    so Python, callbacks and the call's dispatch come once per `k`), each
    from the first call's start to the last one's end. The two alternate,
    `rounds` times, so that a busy machine slows both alike; the speed-up
    is the median of the rounds' ratios."""
    one = model.train_function
    model.steps_per_execution, model.train_function = k, None
    _fit(model, ds, 1, k)  # compiles the k-step function
    many = model.train_function
    single, multi = [], []
    for _ in range(rounds):
        for function, per_call, calls, times in (
            (one, 1, k, single),
            (many, k, 2, multi),
        ):
            model.train_function, model.steps_per_execution = function, per_call
            clock = _StepClock()
            _fit(model, ds, calls, per_call, clock)
            times.append(clock.span(per_call))
    model.train_function, model.steps_per_execution = one, 1
    return {
        "steps_per_call": k,
        "one_step_s": single,
        "k_steps_s": multi,
        "median_one_step_s": statistics.median(single),
        "median_k_steps_s": statistics.median(multi),
        "speedup": statistics.median(a / b for a, b in zip(single, multi, strict=True)),
    }


def _median_seconds(fn, repeats):
    fn()  # compiles
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _alone(model, x, y, repeats):
    """The optimizer update and the loss with metrics, each compiled with XLA
    and timed alone (no trace): a check on the trace's categories. Each call
    costs a dispatch too, measured by a call that does nothing; "net" is the
    time beyond it."""
    import tensorflow as tf

    weights = model.trainable_variables
    grads = [
        1e-3 * tf.random.stateless_normal(w.shape, seed=(0, i))
        for i, w in enumerate(weights)
    ]
    logits = tf.random.stateless_normal((*x.shape, model.output_shape[-1]), (1, 0))
    y = tf.constant(y)

    @tf.function(jit_compile=True)
    def update():
        model.optimizer.apply(grads, weights)

    @tf.function(jit_compile=True)
    def loss_and_metrics():
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss = model.compute_loss(x=None, y=y, y_pred=logits)
        model.compute_metrics(None, y, logits)
        return tape.gradient(loss, logits)

    @tf.function(jit_compile=True)
    def nothing():
        return weights[0][0] + 0.0

    out = {
        "optimizer_s": _median_seconds(update, repeats),
        "loss_metrics_s": _median_seconds(loss_and_metrics, repeats),
        "empty_call_s": _median_seconds(nothing, repeats),
    }
    for key in ("optimizer", "loss_metrics"):
        out[f"{key}_net_s"] = max(0.0, out[f"{key}_s"] - out["empty_call_s"])
    return out


def work(spec: dict) -> dict:
    """Profile one model's training step (in a process of its own)."""
    family, size, runs = spec["family"], spec["size"], spec["runs"]
    load = {"start": os.getloadavg()[0]}  # other work on the machine
    memory = {"python_mb": _rss_mb()}
    speed._quiet_tensorflow()
    import keras  # noqa: F401  (its import is part of the baseline)
    import tensorflow as tf

    memory["tensorflow_keras_mb"] = _rss_mb()
    model = speed.build_zoo(family, size["vocab"], size)
    memory["model_built_mb"] = _rss_mb()
    x, y = speed._random_batch(size)
    ds = tf.data.Dataset.from_tensors((x, y)).repeat()
    memory["dataset_mb"] = _rss_mb()
    _fit(model, ds, runs["warmup"])
    memory["first_steps_mb"] = _rss_mb()
    memory["peak_first_steps_mb"] = _peak_mb()
    timed, timed_calls = _fit(model, ds, runs["timed"])
    memory["trained_mb"] = _rss_mb()
    memory["peak_mb"] = _peak_mb()

    import numpy as np

    def nbytes(variables):
        return sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables)

    weights = nbytes(model.trainable_weights)
    memory["weights_bytes"] = weights
    memory["adam_slots_bytes"] = 2 * weights  # m and v: two slots per weight
    memory["optimizer_variables_bytes"] = nbytes(model.optimizer.variables)

    logdir = Path(spec["logdir"])
    tf.profiler.experimental.start(str(logdir))
    before = _schedule()
    profiled, _ = _fit(model, ds, runs["profiled"])
    after = _schedule()
    tf.profiler.experimental.stop()
    schedule = {
        "cpu_s_per_step": (after[0] - before[0]) / runs["profiled"],
        "run_queue_wait_s_per_step": (after[1] - before[1]) / runs["profiled"],
    }

    dump = Path(spec["dump"])
    module = find_train_module(dump)  # before another step function compiles
    spe = steps_per_execution(model, ds, runs["spe"], runs["spe_rounds"])
    alone = _alone(model, x, y, runs["timed"])

    text = module.read_text()
    instructions = classify(
        parse_hlo(text),
        model_name=model.name,
        optimizer_name=model.optimizer.name,
    )
    hlo = summarize_hlo(instructions)
    hlo["module"] = module.name.split(".cpu_after")[0]
    memory.update(xla_buffer_bytes(module))

    time_report = summarize_time(*read_trace(logdir), instructions, hlo, profiled)
    unprofiled = statistics.median(timed)
    return {
        "family": family,
        "params": model.count_params(),
        "hlo": hlo,
        "shares": time_report.pop("shares"),
        "time": {
            "median_step_s": unprofiled,
            "median_call_s": statistics.median(timed_calls),
            "step_s": timed,
            "profiler_overhead": time_report["profiled_median_step_s"] / unprofiled,
            **time_report,
            **schedule,
            "tokens_per_s": x.size / unprofiled,
            "dot_gflops": hlo["dot_flops_per_step"] / unprofiled / 1e9,
        },
        STEPS_PER_EXECUTION: spe,
        "alone": {
            **alone,
            "optimizer_share": alone["optimizer_net_s"] / unprofiled,
            "loss_metrics_share": alone["loss_metrics_net_s"] / unprofiled,
        },
        "memory": memory,
        "load_average": {**load, "end": os.getloadavg()[0]},
        "machine": speed.machine(),
    }


def worker_main(spec_json: str) -> None:
    result = work(json.loads(spec_json))
    print("RESULT " + json.dumps(result))


# --- the parent ------------------------------------------------------------------


def measure(family: str, size: dict, runs: dict, timeout: float) -> dict:
    """Profile `family` in a fresh process whose XLA dumps its programs."""
    with tempfile.TemporaryDirectory(prefix="zoo-profile-") as tmp:
        dump, logdir = Path(tmp, "hlo"), Path(tmp, "trace")
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # Only the train step's module, as text (the HLO after optimization).
        env["XLA_FLAGS"] = " ".join(
            [
                env.get("XLA_FLAGS", ""),
                f"--xla_dump_to={dump}",
                "--xla_dump_hlo_as_text",
                "--xla_dump_hlo_module_re=.*one_step_on_data.*",
            ]
        ).strip()
        spec = {
            "family": family,
            "size": size,
            "runs": runs,
            "dump": str(dump),
            "logdir": str(logdir),
        }
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", json.dumps(spec)],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=ROOT,
                env=env,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}


def _speed_figures() -> dict:
    """What `speed.py` last measured for the same steps (speed.json)."""
    path = RESULTS / "speed.json"
    if not path.exists():
        return {}
    report = json.loads(path.read_text())
    out = {}
    for family, result in report.get("training", {}).items():
        if family in FAMILIES:
            out[family] = {
                "tokens_per_s": result["tokens_per_s"],
                "peak_rss_mb": result["peak_rss_mb"],
            }
    return out


def _md_table(headers, rows, text=1) -> list[str]:
    """A markdown table; its first `text` columns left-aligned, the rest right."""
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|---" * text + "|---:" * (len(headers) - text) + "|")
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _ms(seconds) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _mb(n_bytes) -> str:
    return f"{n_bytes / 2**20:.1f} MB"


def _alone_cell(result, key) -> str:
    alone = result["alone"]
    return f"{_ms(alone[key + '_net_s'])} ({alone[key + '_share']:.1%})"


def markdown(report: dict) -> str:
    """The profile's tables, from its report (profile.json).

    ``benchmarks/PROFILE.md`` quotes exactly this text (a test checks), and
    its prose quotes only figures that occur in it."""
    families = [f for f in FAMILIES if f in report["families"]]
    results = [report["families"][f] for f in families]
    k = report["runs"]["spe"]
    out = ["Share of a warm training step (trace of the profiled steps):", ""]
    rows = [
        [c.replace("_", " "), *(f"{r['shares'][c]:.1%}" for r in results)]
        for c in CATEGORIES
    ]
    out += _md_table(["category", *families], rows)
    time_rows = [
        ("step, without the profiler", lambda r: _ms(r["time"]["median_step_s"])),
        ("step, profiled", lambda r: _ms(r["time"]["profiled_median_step_s"])),
        ("profiler's cost", lambda r: f"{r['time']['profiler_overhead']:.2f}x"),
        ("XLA execution, profiled", lambda r: _ms(r["time"]["xla_execution_s"])),
        ("CPU time of all threads", lambda r: _ms(r["time"]["cpu_s_per_step"])),
        (
            f"stalls (nothing running for {STALL_SECONDS * 1e3:.1f} ms or more)",
            lambda r: _ms(r["time"]["seconds_per_step"]["stall"]),
        ),
        (
            "threads' wait for a CPU",
            lambda r: _ms(r["time"]["run_queue_wait_s_per_step"]),
        ),
        (
            "tokens/s, without the profiler",
            lambda r: f"{r['time']['tokens_per_s']:,.0f}",
        ),
        (
            "one step per call (default)",
            lambda r: _ms(r[STEPS_PER_EXECUTION]["median_one_step_s"]),
        ),
        (
            f"{k} steps per call, per step",
            lambda r: _ms(r[STEPS_PER_EXECUTION]["median_k_steps_s"]),
        ),
        (
            f"speed-up of {k} steps per call",
            lambda r: f"{r[STEPS_PER_EXECUTION]['speedup']:.2f}x",
        ),
    ]
    out += ["Time per step (medians):", ""]
    out += _md_table(
        ["", *families], [[n, *(f(r) for r in results)] for n, f in time_rows]
    )

    out += ["The dots (FLOPs from the optimized program's shapes):", ""]
    rows = [
        [
            "dot GFLOP per step",
            *(f"{r['hlo']['dot_flops_per_step'] / 1e9:.2f}" for r in results),
        ],
        [
            "GFLOP/s over the whole step",
            *(f"{r['time']['dot_gflops']:.0f}" for r in results),
        ],
    ]
    for group, label in (
        ("other", "GFLOP/s of the 2-D dots"),
        ("recurrence", "GFLOP/s of the recurrence's dots"),
        (
            "batched_weight_gradient",
            "GFLOP/s of the per-batch-element weight gradients",
        ),
    ):
        cells = [r["time"]["dots"].get(group) for r in results]
        rows.append(
            [
                f"{label} (their time)",
                *(
                    "-"
                    if not c or c["gflops"] is None
                    else f"{c['gflops']:.0f} ({_ms(c['seconds_per_step'])})"
                    for c in cells
                ),
            ]
        )
    rows += [
        [
            "per-batch-element weight gradients: dots",
            *(r["hlo"]["batched_weight_gradients"]["dots"] for r in results),
        ],
        [
            "their outputs, before the sum over the batch",
            *(
                _mb(r["hlo"]["batched_weight_gradients"]["dot_output_bytes"])
                for r in results
            ),
        ],
        [
            "their share of the step (dots and sums)",
            *(f"{r['time']['batched_weight_gradient_share']:.1%}" for r in results),
        ],
    ]
    out += _md_table(["", *families], rows)

    out += ["Instructions of the optimized program (fusions counted once):", ""]
    rows = [
        [c.replace("_", " "), *(r["hlo"]["counts"][c] for r in results)]
        for c in HLO_CATEGORIES
    ]
    kinds = sorted({kd for r in results for kd in r["hlo"]["elementwise_kinds"]})
    rows += [
        [
            f"elementwise: {kd.replace('_', ' ')}",
            *(r["hlo"]["elementwise_kinds"].get(kd, 0) for r in results),
        ]
        for kd in kinds
    ]
    rows.append(["all", *(r["hlo"]["instructions"] for r in results)])
    out += _md_table(["category", *families], rows)

    loops = [
        (f, loop)
        for f, r in zip(families, results, strict=True)
        for loop in r["hlo"]["while_loops"]
    ]
    if loops:
        out += ["The while loops (the recurrence):", ""]
        rows = [
            [
                f"{f}: {loop['op_name']}",
                loop["trip_count"],
                loop["instructions_per_iteration"],
                ", ".join(loop["dot_shapes"]),
                f"{loop['body_us_per_iteration']:.1f} µs",
                f"{loop['overhead_us_per_iteration']:.1f} µs",
            ]
            for f, loop in loops
        ]
        out += _md_table(
            [
                "loop",
                "iterations",
                "instructions each",
                "dot output",
                "body per iteration",
                "overhead per iteration",
            ],
            rows,
        )

    out += ["The largest instructions of each category (per step):", ""]
    rows = []
    for f, r in zip(families, results, strict=True):
        for category in CATEGORIES:
            for entry in r["time"]["largest_by_category"].get(category, [])[:2]:
                what = entry["op_name"] or entry["name"]
                rows.append(
                    [
                        f,
                        category.replace("_", " "),
                        f"`{what}`",
                        _ms(entry["seconds_per_step"]),
                    ]
                )
    out += _md_table(["model", "category", "TF op", "time"], rows, text=3)

    out += ["Checks without the trace (compiled alone, the call's cost removed):", ""]
    rows = [
        [
            "optimizer update, alone",
            *(_alone_cell(r, "optimizer") for r in results),
        ],
        [
            "optimizer update, in the trace",
            *(f"{r['shares']['optimizer']:.1%}" for r in results),
        ],
        [
            "loss and metrics, alone",
            *(_alone_cell(r, "loss_metrics") for r in results),
        ],
        [
            "loss and metrics, in the trace",
            *(f"{r['shares']['loss_metrics']:.1%}" for r in results),
        ],
        ["an empty compiled call", *(_ms(r["alone"]["empty_call_s"]) for r in results)],
    ]
    out += _md_table(["", *families], rows)

    out += [
        "Memory (resident set after each stage, MB; then bytes from the model):",
        "",
    ]
    stages = (
        ("Python alone", "python_mb"),
        ("+ TensorFlow and Keras imported", "tensorflow_keras_mb"),
        ("+ model built and compiled", "model_built_mb"),
        ("+ dataset created", "dataset_mb"),
        (
            f"+ the first {report['runs']['warmup']} steps (XLA compiles)",
            "first_steps_mb",
        ),
        (f"+ {report['runs']['timed']} more steps", "trained_mb"),
        ("peak before profiling", "peak_mb"),
    )
    rows = [[n, *(f"{r['memory'][key]:.0f}" for r in results)] for n, key in stages]
    for n, key in (
        ("weights", "weights_bytes"),
        ("Adam's two slots per weight", "adam_slots_bytes"),
        ("optimizer's variables", "optimizer_variables_bytes"),
        ("XLA's buffers for one step", "xla_buffer_bytes"),
        ("of which temporary", "xla_temp_bytes"),
    ):
        rows.append([n, *(_mb(r["memory"].get(key, 0)) for r in results)])
    out += _md_table(["", *families], rows)

    if report.get("speed_json"):
        out += ["For reference, `speed.py`'s last figures (speed.json):", ""]
        sj = [report["speed_json"].get(f, {}) for f in families]
        rows = [
            ["zoo tokens/s", *(f"{x['tokens_per_s']['zoo']:,.0f}" for x in sj)],
            ["PyTorch tokens/s", *(f"{x['tokens_per_s']['torch']:,.0f}" for x in sj)],
            ["zoo peak MB", *(f"{x['peak_rss_mb']['zoo']:.0f}" for x in sj)],
            [
                "zoo without XLA peak MB",
                *(f"{x['peak_rss_mb']['zoo_no_xla']:.0f}" for x in sj),
            ],
            ["PyTorch peak MB", *(f"{x['peak_rss_mb']['torch']:.0f}" for x in sj)],
        ]
        out += _md_table(["", *families], rows)
    return "\n".join(out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", choices=(*FAMILIES, "both"), default="both")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--out", type=Path, default=RESULTS / "profile.json", help="the JSON file"
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print PROFILE.md's tables from --out, run nothing",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return {}
    if args.markdown:
        print(markdown(json.loads(args.out.read_text())))
        return {}
    name = "tiny" if args.tiny else "full"
    size, runs = speed.SIZES[name], RUNS[name]
    families = FAMILIES if args.family == "both" else (args.family,)
    report = {"size": name, "sizes": size, "runs": runs, "families": {}}
    start = time.perf_counter()
    for family in families:
        print(f"profiling {family} ...", flush=True)
        result = measure(family, size, runs, timeout=300 if args.tiny else 1200)
        if "error" in result:
            raise SystemExit(f"{family}: {result['error']}")
        report["families"][family] = result
    if not args.tiny:
        report["speed_json"] = _speed_figures()
    report["machine"] = next(iter(report["families"].values())).pop("machine")
    for result in report["families"].values():
        result.pop("machine", None)
    report["wall_s"] = time.perf_counter() - start
    print(markdown(report))
    speed.write_report(args.out, report)
    return report


if __name__ == "__main__":
    main()
