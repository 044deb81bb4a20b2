"""Time each assignment's solution notebook, and put the times in the guides.

    python assignments/measure.py                 # all seven
    python assignments/measure.py 04_attention    # one (the others are kept)

Each source notebook (the instructor's version: solutions and hidden tests
included) runs top to bottom in a fresh Jupyter kernel, as nbgrader's
autograder runs a submission. The script records the wall time and the
kernel's CPU time (user + system of the kernel process, read once it has
exited) in ``assignments/timings.json``, with the machine, and then rewrites
the table between the ``timings`` markers of ``README.md`` and
``README.zh-CN.md`` from that file. tests/test_assignments.py checks that the
guides show what the file says.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source"
TIMINGS = HERE / "timings.json"
GUIDES = {"en": HERE / "README.md", "zh": HERE / "README.zh-CN.md"}
START, END = "<!-- timings: start (measure.py) -->", "<!-- timings: end -->"
HEADERS = {
    "en": (
        "| assignment | topic | source section | follows | CPU time | wall time |",
        "Measured with `python assignments/measure.py` on {cores} CPU cores "
        "({machine}, Python {python}, TensorFlow {tensorflow}), {date}: each "
        "solution notebook top to bottom in a fresh kernel, the kernel's CPU "
        "time (user + system) and the wall time, which includes waiting for the "
        "CPU: the load average was {load} at the end. Total CPU time: "
        "{total:.0f} s.",
    ),
    "zh": (
        "| 作业 | 内容 | 原文章节 | 对应的 notebook | CPU 时间 | 墙钟时间 |",
        "用 `python assignments/measure.py` 测得：{cores} 个 CPU 核（{machine}，"
        "Python {python}，TensorFlow {tensorflow}），{date}。每个参考答案 notebook "
        "在新的内核中从头运行到尾，记录内核的 CPU 时间（用户态 + 内核态）和墙钟"
        "时间；墙钟时间包括等待 CPU 的时间，测完时的平均负载为 {load}。CPU 时间合计："
        "{total:.0f} 秒。",
    ),
}


def assignments() -> list[str]:
    return sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").exists())


def describe(name: str) -> dict:
    """Title (English and Chinese), source section, and the notebook followed
    with the headings of its sections, read from the notebook's first cell.

    The first cell says ``**Follows:** `notebooks/NN_name` ("Heading", ...)``.
    """
    import nbformat

    intro = nbformat.read(SOURCE / name / f"{name}.ipynb", as_version=4).cells[0].source
    title = re.search(r"^# Assignment \d+ · (.+?) \((.+)\)$", intro, re.M)
    section = re.search(r"document (\d{3}), section \*\*(.+?)\*\*", intro)
    follows = re.search(r"\*\*Follows:\*\* `(notebooks/\d\d_\w+)` \(([^)]*)\)", intro)
    if not (title and section and follows):
        raise SystemExit(f"{name}: the first cell lacks its title, section or notebook")
    headings = re.findall(r'"([^"]+)"', " ".join(follows.group(2).split()))
    return {
        "en": title.group(1),
        "zh": title.group(2),
        "document": section.group(1),
        "section": section.group(2),
        "follows": follows.group(1),
        "headings": headings,
    }


def run(name: str) -> dict:
    """Execute one solution notebook in a fresh kernel; its times in seconds."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(SOURCE / name / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(SOURCE / name)}},
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        client.execute()  # starts the kernel, runs every cell, shuts it down
    except CellExecutionError as error:
        message = f"{name}: a cell failed: {error.ename}: {error.evalue}"
        raise SystemExit(message) from None
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu_s": round(cpu, 1), "wall_s": round(wall, 1)}


def table(timings: dict, language: str) -> str:
    """The guide's table (in "en" or "zh"), from timings.json's contents."""
    header, note = HEADERS[language]
    lines = [header, "|---|---|---|---|---:|---:|"]
    unit = " s" if language == "en" else " 秒"
    doc = "doc {} · {}" if language == "en" else "文档 {} · {}"
    for name, entry in sorted(timings["assignments"].items()):
        headings = ", ".join(f'"{h}"' for h in entry["headings"])
        lines.append(
            f"| `{name}` | {entry[language]} | "
            f"{doc.format(entry['document'], entry['section'])} | "
            f"`{entry['follows']}`: {headings} | "
            f"{entry['cpu_s']:.1f}{unit} | "
            f"{entry['wall_s']:.1f}{unit} |"
        )
    total = sum(e["cpu_s"] for e in timings["assignments"].values())
    lines += ["", note.format(total=total, **timings["machine"])]
    return "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: never half-written."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def guides_with(timings: dict) -> dict[Path, str]:
    """Each guide's text with its table rewritten from ``timings``."""
    texts = {}
    for language, path in GUIDES.items():
        text = path.read_text(encoding="utf-8")
        if START not in text or END not in text:
            raise SystemExit(f"{path.name} has no timings markers")
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        block = f"{START}\n{table(timings, language)}\n{END}"
        texts[path] = head + block + tail
    return texts


def machine() -> dict:
    from importlib.metadata import version

    return {
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "tensorflow": version("tensorflow"),
        "date": datetime.date.today().isoformat(),
        # Other work on the machine makes the wall times longer (not the CPU
        # times): the 1-minute load average once every notebook has run.
        "load": round(os.getloadavg()[0], 1),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="assignments (default: all)")
    names = parser.parse_args(argv).names or assignments()
    unknown = sorted(set(names) - set(assignments()))
    if unknown:
        raise SystemExit(f"no such assignment: {unknown}; choose from {assignments()}")
    timings = {"machine": {}, "assignments": {}}
    if TIMINGS.exists():
        timings = json.loads(TIMINGS.read_text(encoding="utf-8"))
    timings["assignments"] = {
        k: v for k, v in timings["assignments"].items() if k in assignments()
    }
    for name in names:
        entry = {**describe(name), **run(name)}
        timings["assignments"][name] = entry
        print(f"{name}: {entry['cpu_s']} s CPU, {entry['wall_s']} s wall", flush=True)
    timings["machine"] = machine()
    guides = guides_with(timings)  # checks both guides before writing anything
    write_atomically(TIMINGS, json.dumps(timings, indent=2, ensure_ascii=False) + "\n")
    for path, text in guides.items():
        write_atomically(path, text)
    print(f"wrote {TIMINGS.name}, {GUIDES['en'].name} and {GUIDES['zh'].name}")


if __name__ == "__main__":
    sys.exit(main())
