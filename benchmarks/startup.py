"""What the plugin costs processes that never build a RepViT model, and what building one costs.

    python benchmarks/startup.py            # writes benchmarks/results/startup.md

Each figure is the median wall time of fresh interpreters, the two sides of every comparison
started alternately in the same loop; "hook off" sets YOLO_REPVIT_AUTOLOAD=0.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

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

CASES = [  # (what, side A, side B): each side is (label, code, extra environment)
    ("`python -c pass`", ("hook on", "pass", {}), ("hook off", "pass", OFF)),
    ("`from ultralytics import YOLO`", ("plugin active (hook)", "from ultralytics import YOLO", {}),
     ("no plugin", "from ultralytics import YOLO", OFF)),
]


def wall(code, env):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **env}, capture_output=True)
    return time.perf_counter() - start


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

    lines = [f"Median of {args.repeats} fresh processes, seconds.", "",
             "| measurement | A | B | A / B |", "|---|---|---|---|"]
    for what, a, b in CASES:
        times = {a[0]: [], b[0]: []}
        for _ in range(args.repeats):
            for label, code, env in (a, b):
                times[label].append(wall(code, env))
        ma, mb = statistics.median(times[a[0]]), statistics.median(times[b[0]])
        lines.append(f"| {what} | {a[0]}: {ma:.3f} | {b[0]}: {mb:.3f} | {ma / mb:.2f} |")

    builds = {"yolo11n-repvit.yaml": [], "yolo11n.yaml": []}
    for _ in range(args.repeats):
        for cfg in builds:
            builds[cfg].append(timed_build(cfg))
    (rf, rw, rt), (yf, yw, yt) = ([statistics.median(x) for x in zip(*builds[c])] for c in builds)
    lines.append(f"| first build in a process (RepViT: includes importing timm) | yolo11n-repvit: {rf:.3f} | "
                 f"yolo11n: {yf:.3f} | {rf / yf:.2f} |")
    lines.append(f"| second build, same process | yolo11n-repvit: {rw:.3f} | yolo11n: {yw:.3f} | {rw / yw:.2f} |")
    lines += ["", f"timm imported after building yolo11n.yaml with the plugin active: {bool(yt)}; "
                  f"after yolo11n-repvit.yaml: {bool(rt)}."]
    table = "\n".join(lines) + "\n"
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
