"""The README's first command: the demo trains, validates, predicts and says where things went."""

import pytest
import yaml

from conftest import run, script
from yolo_repvit._configs import shipped_config

pytestmark = pytest.mark.slow


def test_demo_command_runs_end_to_end(tmp_path):
    done = run([script("yolo-repvit"), "demo", "--epochs", "3", "--images", "32"], cwd=tmp_path)
    out = tmp_path / "repvit-demo"
    assert (out / "runs" / "train" / "weights" / "best.pt").is_file()
    assert (out / "runs" / "train" / "results.csv").read_text().count("\n") == 4  # header + 3 epochs
    assert (out / "prediction.png").stat().st_size > 1000
    used = yaml.safe_load((out / "runs" / "train" / "args.yaml").read_text())
    scratch = yaml.safe_load(shipped_config("repvit-scratch.yaml").read_text())
    assert {k: used[k] for k in scratch} == scratch  # the README's advice for a from-scratch backbone
    assert (out / "dataset" / "train" / "labels" / "classes.txt").read_text().split() == ["square", "disc", "triangle"]
    summary = done.stdout[done.stdout.index("[yolo-repvit] demo finished"):]
    for line in ("metrics:    mAP50 ", f"weights:    {out / 'runs' / 'train' / 'weights' / 'best.pt'}",
                 f"prediction: {out / 'prediction.png'}"):
        assert line in summary
