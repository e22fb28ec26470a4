"""The README's examples run as users run them: a new interpreter, a fresh working directory."""

import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from conftest import SEED_YAML, run
from yolo_repvit._configs import shipped_config
from yolo_repvit._data import make_detection_dataset

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRATCH = yaml.safe_load(shipped_config("repvit-scratch.yaml").read_text())


@pytest.fixture
def user_env(tmp_path):
    """A user's environment: no pytest variables (with them ultralytics saves runs inside its own package),
    and a settings file of its own whose ``runs_dir`` is under tmp_path (the examples name no absolute project)."""
    env = {"drop": [k for k in os.environ if k.startswith("PYTEST_")],
           "env": {"YOLO_CONFIG_DIR": str(tmp_path / "config")}}
    run_example("-c", f"from ultralytics.utils import SETTINGS; SETTINGS.update(runs_dir={str(tmp_path / 'runs')!r})",
                cwd=tmp_path, env=env)
    return env


def run_example(*args, cwd, env):
    return run([sys.executable, *args], cwd=cwd, **env).stdout


def test_quickstart_trains_reloads_and_predicts(tmp_path, user_env):
    out = run_example(EXAMPLES / "quickstart.py", cwd=tmp_path, env=user_env)
    last = out.strip().splitlines()[-1]
    assert " boxes; weights in " in last
    weights = Path(last.split(" weights in ")[1])
    assert weights.is_file() and weights.name == "best.pt" and tmp_path in weights.parents


def test_train_script_takes_a_folder_in_the_recipes_layout_and_the_recipes_yaml(tmp_path, user_env):
    data = make_detection_dataset(tmp_path / "dataset", train=16, val=8, imgsz=64)
    data.unlink()  # the recipe's folders come without a data.yaml: the script writes it
    seed = shutil.copyfile(SEED_YAML, tmp_path / "yolo11-RepViT.yaml")
    run_example(EXAMPLES / "train.py", "--data", data.parent, "--model", seed, "--epochs", "1", "--imgsz", "64",
                "--device", "cpu", "--workers", "0", cwd=tmp_path, env=user_env)
    assert data.is_file()
    assert [p.relative_to(tmp_path / "runs") for p in (tmp_path / "runs").rglob("best.pt")] == [
        Path("detect/train/weights/best.pt")]
    used = yaml.safe_load((tmp_path / "runs" / "detect" / "train" / "args.yaml").read_text())
    assert {k: used[k] for k in SCRATCH} == SCRATCH  # trained from scratch with the shipped training arguments
