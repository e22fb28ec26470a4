"""Training runs as Ray tasks (``yolo-repvit compare --ray``), and ultralytics' own Ray Tune on our configs.

The comparison runs on a Ray cluster this test starts on this machine with a Python environment that has
everything installed here except yolo-repvit, so its workers can build RepViT models only with the plugin
that ``src/yolo_repvit/_ray_runs.py`` ships to them through Ray's ``runtime_env``.
"""

import json
import os
import re
import secrets
import shutil
import site
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import run, script

MODELS = ("yolo11n.yaml", "yolo11n-repvit.yaml")

HOLD_CLUSTER = """
import sys

import ray

print("address", ray.init(num_cpus=2, include_dashboard=False).address_info["gcs_address"], flush=True)
sys.stdin.read()  # until the test closes it; leaving shuts the cluster down
"""


@pytest.fixture
def ray_env():
    """The environment of a test's Ray processes (clusters, drivers, workers): a token of their own (a new local
    cluster would write one to the home folder, and a driver given an address would lack it), and a short temporary
    folder for Ray's files (its socket paths must fit in about a hundred characters), removed at the end."""
    temp = tempfile.mkdtemp(prefix="ray-")
    yield {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_TMPDIR": temp}
    shutil.rmtree(temp, ignore_errors=True)


def without_the_plugin(folder):
    """A virtual environment in ``folder`` whose site-packages links every file installed here but the plugin's.

    Editable or not, every file of yolo-repvit (its package, ``_yolo_repvit_autoload.py``, its ``.pth`` files, its
    metadata) has ``yolo_repvit`` in its name; everything else (ultralytics, torch, timm, Ray) stays importable.
    Returns its Python.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    target = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    for installed in map(Path, site.getsitepackages()):
        for entry in installed.iterdir():
            if "yolo_repvit" not in entry.name and not (target / entry.name).exists():
                (target / entry.name).symlink_to(entry)
    return python


@pytest.fixture
def cluster(ray_env, tmp_path):
    """The address of a two-CPU Ray cluster on this machine whose Python cannot import the plugin.

    Started by ``ray.init`` in a process of its own, which ends the cluster when it exits: at the end of the test.
    """
    python = without_the_plugin(tmp_path / "blank")
    for module in ("yolo_repvit", "_yolo_repvit_autoload"):
        assert "No module named" in run([python, "-c", f"import {module}"], expect=1).stderr
    holder = subprocess.Popen([python, "-c", HOLD_CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, **ray_env})
    try:
        lines = iter(holder.stdout.readline, "")
        address = next((line.split()[1] for line in lines if line.startswith("address ")), None)
        assert address, f"the Ray cluster did not start (exit status {holder.poll()})"
        yield address
    finally:
        holder.stdin.close()
        try:
            holder.wait(timeout=120)
        except subprocess.TimeoutExpired:
            holder.kill()


@pytest.mark.slow
def test_compare_trains_on_workers_without_the_plugin_then_reuses_the_runs(cluster, ray_env, detection_data,
                                                                         tmp_path):
    out = tmp_path / "out"
    command = [script("yolo-repvit"), "compare", "--ray", cluster, "--data", detection_data, "--models", *MODELS,
               "--epochs", "1", "--imgsz", "64", "--batch", "8", "--latency-imgsz", "64", "--rounds", "1",
               "--out", out]
    first = run(command, cwd=tmp_path, env=ray_env)
    assert re.search(r" 0 already done .*, training 2 on Ray", first.stdout), first.stdout
    shipped = Path(ray_env["RAY_TMPDIR"], "ray").glob("session_*/runtime_resources/py_modules_files/*/yolo_repvit")
    assert any((package / "cfg" / "yolo11-repvit.yaml").is_file() for package in shipped), "nothing shipped"

    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert sorted(Path(r["run"]["model"]).name for r in records) == sorted(MODELS)
    for record in records:  # trained on a worker, unpacked here
        for file in (record["weights"], f"{record['key']}/results.csv"):
            assert (out / "runs" / file).is_file(), file
    rows = (out / "compare.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == list(MODELS)
    assert (out / "compare.md").is_file() and (out / "pareto.png").is_file()

    weights = {file: file.stat().st_mtime_ns for file in (out / "runs").rglob("best.pt")}
    second = run(command, cwd=tmp_path, env=ray_env)
    assert re.search(r" 2 already done .*, training 0", second.stdout), second.stdout
    assert {file: file.stat().st_mtime_ns for file in (out / "runs").rglob("best.pt")} == weights
    assert len((out / "runs.jsonl").read_text().splitlines()) == 2


def test_ray_not_installed_is_said_before_anything_trains(detection_data, tmp_path, monkeypatch):
    import yolo_repvit
    from yolo_repvit import RepViTError

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as where it is not installed
    with pytest.raises(RepViTError, match=r"pip install 'yolo-repvit\[ray\]'"):
        yolo_repvit.compare(detection_data, ["yolo11n.yaml"], epochs=1, imgsz=64, batch=8, format="pytorch",
                            ray="auto", out=tmp_path)
    assert not (tmp_path / "runs").exists()


TUNE = """
import json
import sys

from ray import tune
from ultralytics import YOLO

data, project = sys.argv[1:]
found = {}
for config in ("yolo11n-repvit.yaml", "yolo11n-fastvit.yaml"):
    grid = YOLO(config).tune(use_ray=True, iterations=1, space={"lr0": tune.uniform(1e-3, 1e-2)}, gpu_per_trial=0,
                             search_alg="random", data=data, epochs=1, imgsz=64, batch=8, workers=0, device="cpu",
                             plots=False, project=project, name=config.split(".")[0])
    found[config] = {"errors": [str(e) for e in grid.errors], "maps": [r.metrics.get("metrics/mAP50-95(B)")
                                                                       for r in grid]}
print(json.dumps(found))
"""


@pytest.mark.slow
def test_ultralytics_ray_tune_runs_repvit_and_timm_configs(ray_env, detection_data, tmp_path):
    """``model.tune(use_ray=True)`` needs nothing of ours where the workers have the plugin: those of the local Ray
    instance it starts run this environment's Python, and unpickling the model imports the plugin."""
    done = run([sys.executable, "-c", TUNE, detection_data, tmp_path], cwd=tmp_path, env=ray_env,
               drop=("RAY_ADDRESS",))
    found = json.loads(done.stdout.splitlines()[-1])
    for config, result in found.items():
        assert result["errors"] == [], config
        assert len(result["maps"]) == 1 and isinstance(result["maps"][0], float), config
