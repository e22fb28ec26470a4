"""Shared fixtures: generated data, fresh Python processes, and a quiet ultralytics."""

import copy
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import yaml

import yolo_repvit  # noqa: F401  the suite tests the activated plugin unless a test says otherwise
from yolo_repvit.data import make_detection_dataset

SEED_YAML = os.path.join(os.path.dirname(__file__), "data", "yolo11-RepViT.yaml")
OFF = {"YOLO_REPVIT_AUTOLOAD": "0"}  # no startup hook: a child sees the plugin only if it imports it

with open(SEED_YAML) as f:
    RECIPE = yaml.safe_load(f)


def recipe(variant, width, **changes):
    """The recipe's model dict with its RepViT row set to ``variant`` at ``width``."""
    d = copy.deepcopy(RECIPE)
    d["backbone"][0] = [-1, 1, variant, [width]]
    return {**d, **changes}


def randomise_batchnorm(model, seed=0):
    """Give every BatchNorm non-trivial statistics and affine terms, so folding them is really tested."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=g) - 0.5)


def run_python(code, *, env=None, cwd=None, timeout=900):
    """Run ``code`` in a new interpreter (nothing of this process carried over) and return its stdout.

    The child gets this environment plus ``env``; a non-zero exit fails the test with its stderr.
    """
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)
    if proc.returncode:
        pytest.fail(f"child python exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n"
                    f"--- stderr\n{proc.stderr[-8000:]}")
    return proc.stdout


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
