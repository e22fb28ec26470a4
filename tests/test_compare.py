"""``yolo-repvit compare``: bad input is refused before anything trains; a comparison trains, exports, times and
reports every model, and run again it reuses what it has; killed, it leaves no training behind; called from a
script without the main guard, it says to add one."""

import csv
import subprocess
import sys
import time

import pytest

from conftest import run, script
from yolo_repvit import RepViTError, compare
from yolo_repvit._compare_report import summary


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    import yolo_repvit

    return yolo_repvit.make_dataset("detect", tmp_path_factory.mktemp("data"), train=16, val=8, imgsz=64)


def refusal(tmp_path, **kwargs):
    arguments = {"data": None, "models": ["yolo11n.yaml"], "out": tmp_path / "out", **kwargs}
    with pytest.raises(RepViTError) as info:
        compare(**arguments)
    assert not (tmp_path / "out" / "runs.jsonl").exists()  # nothing trained
    return str(info.value)


def test_missing_data_is_refused(tmp_path):
    assert refusal(tmp_path, data=str(tmp_path / "nope.yaml")) == (
        f"compare: data file '{tmp_path / 'nope.yaml'}' not found. Give the path of a dataset YAML (train:, val:, "
        "names:), e.g. one written by yolo_repvit.write_data_yaml.")


def test_unknown_model_is_refused(tmp_path, data):
    assert refusal(tmp_path, data=str(data), models=["yolo11n.yaml", "yolo11q-repvit.yaml"]).startswith(
        "compare: model 'yolo11q-repvit.yaml' cannot be built (FileNotFoundError: ")


def test_a_model_of_another_task_is_refused(tmp_path, data):
    assert refusal(tmp_path, data=str(data), models=["yolo11n-repvit-seg.yaml"]) == (
        "compare: model 'yolo11n-repvit-seg.yaml' is a segment model; the comparison reports box mAP, so give "
        "detection models.")


def test_format_that_cannot_run_here_is_refused(tmp_path, data):
    assert refusal(tmp_path, data=str(data), format="coreml").startswith(
        "compare: format 'coreml' runs on macOS only, so it cannot be timed here. Formats this comparison times: "
        "pytorch, torchscript, onnx, openvino")


def test_a_device_this_machine_lacks_is_refused(tmp_path, data):
    assert refusal(tmp_path, data=str(data), device="99").startswith(
        "compare: device '99' is not available here (Invalid CUDA 'device=99' requested.")
    assert refusal(tmp_path, data=str(data), device="99").endswith(
        "Give --device cpu, or the index of a GPU this machine has (0, or 0,1 for two).")


@pytest.mark.parametrize(("line", "message"), [
    ("optimzer: AdamW", "sets 'optimzer', which is no ultralytics training argument. Did you mean optimizer"),
    ("epochs: 5", "sets 'epochs', which the comparison sets itself for every model; remove it (use --epochs"),
])
def test_bad_training_arguments_are_refused(tmp_path, data, line, message):
    cfg = tmp_path / "args.yaml"
    cfg.write_text(line + "\n")
    assert refusal(tmp_path, data=str(data), cfg=str(cfg)).startswith(f"compare: {cfg} {message}")


def test_the_front_holds_the_models_nothing_beats_on_both_counts():
    table = [{"model": m, "seed": 0, "mAP50-95": a, "mAP50": a, "latency_ms": t, "params": 1, "GFLOPs": 1,
              "train_s": 1} for m, a, t in [("a", 0.5, 10), ("b", 0.6, 12), ("c", 0.55, 12), ("d", 0.5, 10)]]
    assert {s["model"]: s["front"] for s in summary(table, ["a", "b", "c", "d"])} == {
        "a": True, "b": True, "c": False, "d": True}  # a and d tie: neither beats the other


@pytest.mark.slow
def test_compare_trains_times_reports_and_reuses_its_runs(tmp_path, data):
    out = tmp_path / "out"
    command = [script("yolo-repvit"), "compare", "--data", data, "--models", "yolo11n.yaml", "yolo11n-repvit.yaml",
               "--epochs", "1", "--imgsz", "64", "--batch", "8", "--seeds", "2", "--latency-imgsz", "64", "--rounds",
               "1", "--cfg", "repvit-scratch.yaml", "--out", out]
    first = run(command).stdout
    assert "4 runs: 0 already done" in first and "[4/4] yolo11n-repvit.yaml seed 1: mAP50-95" in first
    with open(out / "compare.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["model"], r["seed"]) for r in rows] == [("yolo11n.yaml", "0"), ("yolo11n.yaml", "1"),
                                                       ("yolo11n-repvit.yaml", "0"), ("yolo11n-repvit.yaml", "1")]
    assert all(float(r["latency_ms"]) > 0 and int(r["params"]) > 1e6 for r in rows)
    report = (out / "compare.md").read_text()
    assert "| `yolo11n.yaml` | 2 |" in report and "| 1.00x |" in report and "'optimizer': 'AdamW'" in report
    assert (out / "pareto.png").stat().st_size > 10_000
    again = run([*command[:-2], "--format", "torchscript", "--out", out]).stdout
    assert "4 runs: 4 already done" in again and "training 0" in again and "4 torchscript models" in again
    assert sorted(p.suffix for p in (out / "exports" / "torchscript-64").iterdir()) == [".torchscript"] * 4


@pytest.mark.slow
def test_a_killed_comparison_leaves_no_training_behind(tmp_path, data):
    import psutil

    out = tmp_path / "out"
    comparison = subprocess.Popen([script("yolo-repvit"), "compare", "--data", data, "--models", "yolo11n.yaml",
                                   "--epochs", "300", "--imgsz", "64", "--batch", "8", "--latency-imgsz", "64",
                                   "--out", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list((out / "logs").glob("*.log")) and time.monotonic() < deadline:  # the worker has started
        time.sleep(1)
    workers = psutil.Process(comparison.pid).children(recursive=True)
    assert workers, "no training worker started"
    comparison.kill()  # SIGKILL: the comparison cleans nothing up
    comparison.wait()
    gone, alive = psutil.wait_procs(workers, timeout=30)
    assert alive == []


@pytest.mark.slow
def test_a_script_without_the_main_guard_is_told_to_add_it(tmp_path, data):
    unguarded = tmp_path / "unguarded.py"
    unguarded.write_text(f"import yolo_repvit\n\nyolo_repvit.compare({str(data)!r}, ['yolo11n.yaml'], epochs=1, "
                         f"imgsz=64, batch=8, latency_imgsz=64, out={str(tmp_path / 'out')!r})\n")
    done = run([sys.executable, unguarded], expect=1, timeout=600)
    assert 'compare() was called from a script outside `if __name__ == "__main__":`' in done.stderr
