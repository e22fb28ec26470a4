"""What the plugin costs processes that never build a RepViT model, and what building one costs.

    python benchmarks/startup.py            # writes benchmarks/results/startup.md

Each figure is the median over fresh interpreters, the two sides of every comparison started
alternately in the same loop, each side first in turn; "hook off" sets YOLO_REPVIT_AUTOLOAD=0.
The ultralytics import is timed inside the process after ``import torch``: torch's own import
(seconds of shared-library loading) varies far more from run to run than the plugin costs.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _mdtable import publish, table

OUT = Path(__file__).parent / "results" / "startup.md"
OFF = {"YOLO_REPVIT_AUTOLOAD": "0"}

BUILD = """
import time, sys
{setup}
from ultralytics import YOLO
start = time.perf_counter()
YOLO({cfg!r})
first = time.perf_counter() - start
start = time.perf_counter()
YOLO({cfg!r})
print(first, time.perf_counter() - start, "timm" in sys.modules)
"""

IMPORT = """
import time, torch
start = time.perf_counter()
from ultralytics import YOLO
print(time.perf_counter() - start)
"""

CASES = [  # (what, side A, side B): each side is (label, code, extra environment); code that prints times itself
    ("`python -c pass` (whole process)", ("hook on", "pass", {}), ("hook off", "pass", OFF)),
    ("`from ultralytics import YOLO` (after `import torch`)", ("plugin active (hook)", IMPORT, {}),
     ("no plugin", IMPORT, OFF)),
]


def seconds(code, env):
    """What ``code`` prints as its own timing, else the wall time of the whole interpreter."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **env}, capture_output=True,
                         text=True).stdout.split()
    return float(out[-1]) if out else time.perf_counter() - start


def timed_build(cfg):
    setup = "import yolo_repvit"
    out = subprocess.run([sys.executable, "-c", BUILD.format(setup=setup, cfg=cfg)], check=True, text=True,
                         capture_output=True, env={**os.environ, **OFF}).stdout.split()
    return float(out[-3]), float(out[-2]), out[-1] == "True"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    rows = []
    for what, a, b in CASES:
        times = {a[0]: [], b[0]: []}
        for r in range(args.repeats):
            for label, code, env in (a, b) if r % 2 else (b, a):  # each side goes first in turn
                times[label].append(seconds(code, env))
        ma, mb = statistics.median(times[a[0]]), statistics.median(times[b[0]])
        rows.append((what, f"{a[0]}: {ma:.3f}", f"{b[0]}: {mb:.3f}", f"{ma / mb:.2f}"))

    builds = {"yolo11n-repvit.yaml": [], "yolo11n.yaml": []}
    for r in range(args.repeats):
        for cfg in builds if r % 2 else reversed(builds):
            builds[cfg].append(timed_build(cfg))
    (rf, rw, rt), (yf, yw, yt) = ([statistics.median(x) for x in zip(*builds[c])] for c in builds)
    rows.append(("first build in a process (RepViT: includes importing timm)", f"yolo11n-repvit: {rf:.3f}",
                 f"yolo11n: {yf:.3f}", f"{rf / yf:.2f}"))
    rows.append(("second build, same process", f"yolo11n-repvit: {rw:.3f}", f"yolo11n: {yw:.3f}", f"{rw / yw:.2f}"))
    text = (f"Median of {args.repeats} fresh processes, seconds.\n\n" + table(["measurement", "A", "B", "A / B"], rows)
            + f"\ntimm imported after building yolo11n.yaml with the plugin active: {bool(yt)}; "
              f"after yolo11n-repvit.yaml: {bool(rt)}.\n")
    publish(text, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
