"""Shared helpers and fixtures: the recipe's model dict, fresh processes, generated data."""

import copy
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# One thread per test process, children included: the suite runs in two processes (pytest-xdist) and
# its children train and export beside them, and torch's default of one thread per core makes
# processes sharing the cores wait on each other (a 0.1 s forward pass takes seconds).
os.environ["OMP_NUM_THREADS"] = "1"
import torch  # noqa: E402
import yaml  # noqa: E402

import yolo_repvit  # noqa: E402, F401  the suite tests the activated plugin unless a test says otherwise
from yolo_repvit._data import make_detection_dataset  # noqa: E402

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))  # the generators, whose output the tests compare with the files
SEED_YAML = os.path.join(os.path.dirname(__file__), "data", "yolo11-RepViT.yaml")
OFF = {"YOLO_REPVIT_AUTOLOAD": "0"}  # no startup hook: a child sees the plugin only if it imports it

with open(SEED_YAML) as f:
    RECIPE = yaml.safe_load(f)


def pytest_addoption(parser):
    parser.addoption("--all", action="store_true", help="run the whole suite, tests marked slow included (as CI does)")
    parser.addoption("--deploy", action="store_true",
                     help="run the deploy tier (tests marked deploy), which needs pip install '.[deploy]'")


def pytest_collection_modifyitems(config, items):
    """Plain ``pytest`` is the fast run: tests marked slow are deselected unless ``--all`` is given.

    Tests marked deploy (exports to phone and edge formats, with packages of their own) run only with
    ``--deploy``: not even ``--all`` runs them, since CI's time budget has no room for them.
    """
    skipped = [] if config.getoption("--all") else ["slow"]
    skipped += [] if config.getoption("--deploy") else ["deploy"]
    dropped = [item for item in items if any(item.get_closest_marker(mark) for mark in skipped)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        kept = set(items) - set(dropped)
        items[:] = [item for item in items if item in kept]


def fast_first(values, keep=1, ids=None):
    """Parameters of a test that runs over many cases: the first ``keep`` in the fast run, the rest marked slow.

    The fast run still covers each kind of case once; the whole suite covers them all.
    """
    values = list(values)
    names = ids(values) if callable(ids) else ids or [None] * len(values)
    return [pytest.param(*(v if isinstance(v, tuple) else (v,)), id=name, marks=() if i < keep else pytest.mark.slow)
            for i, (v, name) in enumerate(zip(values, names))]


def recipe(row=None, head=None, backbone=None, **top):
    """The recipe's model dict, changed: its backbone row (or whole ``backbone`` list), head rows by index
    (``head={1: row}``) and top-level keys (``nc=3``, ``ch=4``, ``scale="s"``)."""
    d = copy.deepcopy(RECIPE)
    if backbone is not None:
        d["backbone"] = copy.deepcopy(backbone)
    if row is not None:
        d["backbone"][0] = row
    for index, head_row in (head or {}).items():
        d["head"][index] = head_row
    return {**d, **top}


def repvit(variant, width=1.0, pretrained=None, **top):
    """The recipe with a RepViT row of ``variant`` at ``width`` (and ``pretrained``, when given)."""
    return recipe([-1, 1, variant, [width] if pretrained is None else [width, pretrained]], **top)


def timm_row(model, *args, **top):
    """The recipe with a Timm row: ``[-1, 1, Timm, [model, *args]]``."""
    return recipe([-1, 1, "Timm", [model, *args]], **top)


def randomise_batchnorm(model, seed=0):
    """Give every BatchNorm non-trivial statistics and affine terms, so folding them is really tested."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            if m.affine:
                m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.data.copy_(torch.rand(n, generator=g) - 0.5)


def run(command, *, env=None, drop=(), cwd=None, timeout=900, expect=0):
    """Run ``command`` in a new process and return it (``stdout``, ``stderr``, ``returncode``).

    The child gets this environment minus ``drop`` plus ``env``.  Unless ``expect`` is None, an exit
    status other than ``expect`` fails the test with the end of both streams.
    """
    full_env = {k: v for k, v in os.environ.items() if k not in drop}
    full_env.update({"PYTHONWARNINGS": "ignore", **(env or {})})
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=timeout)
    if expect is not None and done.returncode != expect:
        pytest.fail(f"{' '.join(map(str, command))[:300]}\nexited {done.returncode}, expected {expect}\n"
                    f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-8000:]}")
    return done


def script(name):
    """The console script ``name`` (``yolo``, ``yolo-repvit``) of this environment."""
    return shutil.which(name, path=os.path.dirname(sys.executable))


def run_python(code, **kwargs):
    """Run ``code`` in a new interpreter (nothing of this process carried over) and return its stdout."""
    return run([sys.executable, "-c", textwrap.dedent(code)], **kwargs).stdout


@pytest.fixture(scope="session")
def detection_data(tmp_path_factory):
    """Sixteen training and eight validation images at 64 px, made once per session."""
    return make_detection_dataset(tmp_path_factory.mktemp("shapes"), train=16, val=8, imgsz=64)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, detection_data):
    """A yolo11n-repvit trained for two epochs; its run directory."""
    from ultralytics import YOLO

    project = tmp_path_factory.mktemp("runs")
    YOLO("yolo11n-repvit.yaml").train(data=str(detection_data), epochs=2, imgsz=64, batch=8, workers=0,
                                       device="cpu", project=str(project), name="train", plots=False,
                                       verbose=False)
    return project / "train"
