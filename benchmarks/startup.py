"""What the plugin costs processes that never build a RepViT model, and what a first RepViT build costs.

    python benchmarks/startup.py                    # writes benchmarks/results/startup.md
    python benchmarks/startup.py --quick --out DIR  # one round, a smoke test: DIR/startup-quick.md

Import costs are the point, so every timed thing is a fresh interpreter (a ``Child``), and the two
sides of each comparison are raced with ``_timing.race``: paired, alternating, fastest run kept.
Every child first runs once untimed, with a bytecode cache of the benchmark's own, so nothing a
first-ever run pays (compiling modules, reading files into the page cache, ultralytics' settings
file) is timed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from _machine import describe, load_average
from _mdtable import facts, publish, table
from _timing import race

RESULTS = Path(__file__).parent / "results"
SWITCH = "YOLO_REPVIT_AUTOLOAD"
ROUNDS = 15
QUICK_ROUNDS = 1
BUILD_THREADS = 1  # see notes()
MODULES = "import json, sys; print(json.dumps(sorted(sys.modules)))"
IMPORT = """
import json, time, torch
start = time.perf_counter()
from ultralytics import YOLO
print(json.dumps({"import": time.perf_counter() - start}))
"""
BUILD = """
import json, sys, time, torch
from ultralytics import YOLO
torch.set_num_threads({threads})
start = time.perf_counter()
{import_timm}
imported = time.perf_counter()
YOLO({cfg!r})
built = time.perf_counter()
YOLO({cfg!r})
print(json.dumps({{"first build": built - start, "timm": imported - start, "build": built - imported,
                  "second build": time.perf_counter() - built, "timm loaded": "timm" in sys.modules}}))
"""


def output(code, env):
    """What a fresh interpreter running ``code`` prints."""
    return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout


class Child:
    """A race probe (``run``, ``seconds``) that runs ``code`` in a fresh interpreter.

    Its time is the figure ``field`` of the JSON line the child prints last, the child's own clock,
    so that interpreter start and untimed imports stay out; with no ``field``, the process's wall
    time.  ``best`` keeps all the child printed in its fastest timed run.
    """

    def __init__(self, code, env, field=None):
        self.code, self.env, self.field, self.best = code, env, field, None

    def run(self):
        started = time.perf_counter()
        out = output(self.code, self.env)
        return json.loads(out.splitlines()[-1]) if self.field else {"wall": time.perf_counter() - started}

    def seconds(self):
        report = self.run()
        key = self.field or "wall"
        if self.best is None or report[key] < self.best[key]:
            self.best = report
        return report[key]


def environments(cache):
    """The children's environments, hook on and off, reading and writing bytecode in ``cache`` only.

    An environment may forbid writing bytecode (``PYTHONDONTWRITEBYTECODE``), and an editable
    install or a package installed without it has none, so every process would compile those
    modules again; stale bytecode does the same.  With a cache of its own, warmed by each child's
    untimed first run, the benchmark times what a normal installation does after first use.
    """
    on = {k: v for k, v in os.environ.items() if k not in (SWITCH, "PYTHONDONTWRITEBYTECODE")}
    on["PYTHONPYCACHEPREFIX"] = cache
    return on, {**on, SWITCH: "0"}


def probes(on, off):
    """``{side: {measurement: probe}}``: side A is the plugin or RepViT, side B (the reference) its baseline."""
    repvit = BUILD.format(import_timm="import timm  # what the first RepViT layer imports", cfg="yolo11n-repvit.yaml",
                          threads=BUILD_THREADS)
    upstream = BUILD.format(import_timm="", cfg="yolo11n.yaml", threads=BUILD_THREADS)
    return {"A": {"start": Child("pass", on), "import": Child(IMPORT, on, "import"),
                  "first build": Child(repvit, on, "first build"), "second build": Child(repvit, on, "second build")},
            "B": {"start": Child("pass", off), "import": Child(IMPORT, off, "import"),
                  "first build": Child(upstream, on, "first build"),
                  "second build": Child(upstream, on, "second build")}}


def hook_modules(on, off):
    """Modules a bare interpreter has loaded with the hook on and not with it off, and whether the hook's own
    module is loaded even when off (the startup file imports it to read the switch)."""
    with_hook, without = (set(json.loads(output(MODULES, env))) for env in (on, off))
    return sorted(with_hook - without), "_yolo_repvit_autoload" in without


def rows(timed, first_repvit, first_upstream):
    """The table: each side's fastest run, their difference and ratio, and the first builds' split."""
    a, b = timed["A"], timed["B"]

    def compared(what, name, left, right):
        return (what, f"{left}: {a[name].seconds:.3f}", f"{right}: {b[name].seconds:.3f}",
                f"{a[name].seconds - b[name].seconds:+.3f}", f"{a[name].ratio:.2f}")

    return [compared("`python -c pass`, whole process", "start", "hook on", "hook off"),
            compared("`from ultralytics import YOLO` after `import torch`", "import", "plugin active", "hook off"),
            compared("first build in a fresh process", "first build", "yolo11n-repvit", "yolo11n"),
            ("... of which importing timm", f"{first_repvit['timm']:.3f}", "not imported", "", ""),
            ("... of which building", f"{first_repvit['build']:.3f}", f"{first_upstream['build']:.3f}", "", ""),
            compared("second build, same process", "second build", "yolo11n-repvit", "yolo11n")]


def notes(rounds, modules, timm_loaded):
    added, hook_loaded = modules
    lines = [
        f"Timing: each figure is the fastest of {rounds} fresh interpreters; every run of side A was taken right "
        "beside one of side B, which of the two first alternating, after one untimed run of each (`_timing.race`). "
        "A - B is the difference of the fastest runs; A / B is A's fastest over the fastest of the B runs taken "
        "beside it. Other work on the machine only adds time, so the fastest run is the least disturbed.",
        "Bytecode: the children read and write it in a cache of the benchmark's own (`PYTHONPYCACHEPREFIX`), "
        "filled by the untimed runs, so no timed run compiles a module, whatever the environment's bytecode "
        "state (missing, stale, or not writable under `PYTHONDONTWRITEBYTECODE`).",
        f"`python -c pass`: the whole process, hook on against `{SWITCH}=0`. Modules loaded with the hook on and "
        f"not with it off: {', '.join(f'`{m}`' for m in added) or 'none'}"
        + (" (the hook's own module is loaded either way, to read the switch)." if hook_loaded else "."),
        "`from ultralytics import YOLO`: timed by the child after `import torch`, whose loading of shared "
        "libraries varies far more than the plugin costs. With the hook on, the plugin activates while "
        "ultralytics is imported.",
        "First build: in a child that has imported torch and ultralytics with the plugin active, `YOLO(cfg)`: "
        "the YAML read, every layer built, ultralytics' stride probe (a forward pass) and weight initialisation. "
        "For the RepViT config the child first imports timm, timed as its own part (it brings torchvision and "
        "`torch._dynamo` with it); the plugin's own modules load during the build. The split shown is that of "
        f"each side's fastest first build. After yolo11n's build timm was {'' if timm_loaded else 'not '}imported. "
        f"Builds run on {BUILD_THREADS} torch thread: their tensor work is small, and on a machine whose cores other "
        "work holds, a parallel operation waits for its slowest thread (with other work running here, a yolo11n "
        "build took 0.8 to 4.3 s on two threads and 0.17 s on one).",
        "Second build: the same config again, in the same process.",
    ]
    return "".join(f"- {line}\n" for line in lines)


EARLIER = """## The earlier 19.6 s

An earlier version of this file (medians of 9 runs taken one after the other, no machine facts)
showed a first RepViT build of 19.6 s against 0.53 s for yolo11n, 36.7x. That script, rerun on an
idle machine of the same kind, gives 1.78 s against 0.10 s, 17.8x, as its two runs before did
(17.4x and 17.9x). That run's machine was busy: each of its figures was 2 to 5 times today's
(whole process 0.027 s against 0.013 s, the ultralytics import 0.40 s against 0.09 s, second
builds 0.61 s and 0.36 s against 0.14 s and 0.07 s), and its first RepViT build, the only figure
with a large import in it (timm's, about 1,500 modules), was 11 times. Measured on this machine,
that import takes 8.4 to 8.9 s instead of 1.7 s when no module has usable bytecode, and 7.7 to
10.6 s beside three busy processes; builds on two threads slow down more still (above). Other
sessions' work counts even at nice 19: Linux groups processes by session (autogroup) and shares
the CPU between the groups. No one-off cost of a first run explains it: a median of 9 ignores one
slow run, and ultralytics writes its settings file and checks for a network during the import,
not the build. Hence this method: the fastest of paired runs, a bytecode cache of its own warmed
untimed, builds on one thread, timm's import timed apart from the build, and the machine and its
load recorded.

"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds: a smoke test")
    parser.add_argument("--rounds", type=int, help=f"timed runs per side and measurement (default {ROUNDS})")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for startup.md (startup-quick.md)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    command = " ".join(["python benchmarks/startup.py", *(["--quick"] if args.quick else []),
                        *([f"--rounds {args.rounds}"] if args.rounds else [])])
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="startup-bytecode-") as cache:
        on, off = environments(cache)
        probed = probes(on, off)
        timed = race(probed, {"A": rounds}, reference="B")
        modules = hook_modules(on, off)
    first_repvit, first_upstream = probed["A"]["first build"].best, probed["B"]["first build"].best
    load = " and ".join("n/a" if v is None else f"{v:.1f}" for v in (load_before, load_average()))
    machine = [fact for fact in describe(torch.device("cpu"), BUILD_THREADS) if fact[0] != "onnxruntime"]
    text = (f"# Startup: what the plugin costs a process, and what a first RepViT build costs\n\n"
            f"```bash\n{command}\n```\n\nSeconds, fastest runs.\n\n"
            + table(["measurement", "A", "B", "A - B", "A / B"], rows(timed, first_repvit, first_upstream))
            + "\n" + notes(rounds, modules, first_upstream["timm loaded"]) + "\n" + EARLIER
            + f"## Machine\n\nThe 1-minute load average was {load} at the start and end of the run.\n\n"
            + facts(machine))
    args.out.mkdir(parents=True, exist_ok=True)
    publish(text, args.out / f"startup{'-quick' if args.quick else ''}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
