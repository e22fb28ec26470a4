"""Where users run it without writing `import yolo_repvit`: the startup hook, the `yolo` CLI, DDP workers."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import OFF, SEED_YAML, run_python

ROOT = Path(__file__).resolve().parents[1]


def run(command, env=None, cwd=None):
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=900,
                          env={**os.environ, **(env or {})})
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    """A new virtual environment holding only our wheel (and ultralytics' CLI), reusing this one's torch/timm."""
    where = tmp_path_factory.mktemp("wheelenv")
    code, log = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(where / "dist"), str(ROOT)])
    assert code == 0, log
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    child_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                capture_output=True, text=True, check=True).stdout.strip()
    # The parent's packages (torch, timm, ...) as a plain path entry: its .pth files, ours included, are not run.
    Path(child_site, "parent-site.pth").write_text(sysconfig.get_path("purelib") + "\n")
    import ultralytics

    wheel = next((where / "dist").glob("yolo_repvit-*.whl"))
    for package in (str(wheel), f"ultralytics=={ultralytics.__version__}"):  # ultralytics for its `yolo` script
        code, log = run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", package])
        assert code == 0, log
    return venv


def clean_env():
    """This environment minus anything that would put the checkout's sources on the child's path."""
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "YOLO_REPVIT_AUTOLOAD"}}


@pytest.mark.slow
def test_wheel_installs_a_startup_hook_that_imports_nothing(wheel_env):
    python = str(wheel_env / "bin" / "python")
    probe = ("import sys; print(sorted(m for m in ('torch', 'ultralytics', 'timm', 'yolo_repvit') if m in sys.modules),"
             " sys.modules['_yolo_repvit_autoload'].__file__.startswith(sys.prefix))")
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, env=clean_env(), check=True)
    assert done.stdout.strip() == "[] True"
    files = {p.name for p in Path(wheel_env).rglob("yolo_repvit-autoload.*")}
    assert files == {"yolo_repvit-autoload.pth", "yolo_repvit-autoload.start"}
    # and the hook module itself loads nothing new: -X importtime lists a module's imports just above it, indented
    lines = subprocess.run([python, "-X", "importtime", "-c", "pass"], capture_output=True, text=True,
                           env=clean_env(), check=True).stderr.splitlines()
    names = [line.split("|")[-1] for line in lines if line.startswith("import time:")]
    hook = next(i for i, name in enumerate(names) if name.strip() == "_yolo_repvit_autoload")
    depth = len(names[hook]) - len(names[hook].lstrip())
    children = []
    for name in reversed(names[:hook]):
        if len(name) - len(name.lstrip()) <= depth:
            break
        children.append(name.strip())
    assert children == []


@pytest.mark.slow
def test_wheel_yolo_cli_trains_validates_predicts_and_exports(wheel_env, detection_data, tmp_path):
    yolo = str(wheel_env / "bin" / "yolo")
    env = clean_env()
    common = ["imgsz=64", "device=cpu", "workers=0"]
    code, log = run([yolo, "train", "model=yolo11n-repvit.yaml", f"data={detection_data}", "epochs=1", "batch=8",
                     "plots=False", f"project={tmp_path}", "name=shipped", *common], env=env, cwd=tmp_path)
    assert code == 0, log[-3000:]
    seed = shutil.copyfile(SEED_YAML, tmp_path / "yolo11n-RepViT.yaml")  # the recipe's file, by path
    code, log = run([yolo, "train", f"model={seed}", f"data={detection_data}", "epochs=1", "batch=8", "plots=False",
                     f"project={tmp_path}", "name=recipe", *common], env=env, cwd=tmp_path)
    assert code == 0, log[-3000:]
    best = tmp_path / "recipe" / "weights" / "best.pt"
    for mode, extra in (("val", [f"data={detection_data}", "batch=8", "plots=False", f"project={tmp_path}"]),
                        ("predict", [f"source={detection_data.parent / 'val' / 'images'}", "save=False"]),
                        ("export", ["format=torchscript"])):
        code, log = run([yolo, mode, f"model={best}", *common[:2], *extra], env=env, cwd=tmp_path)
        assert code == 0, f"yolo {mode}: {log[-3000:]}"
    assert (best.parent / "best.torchscript").is_file()


@pytest.mark.slow
def test_autoload_off_the_cli_does_not_know_repvit_and_says_how_to_enable(wheel_env, detection_data, tmp_path):
    yolo = str(wheel_env / "bin" / "yolo")
    env = {**clean_env(), **OFF}
    for model in ("yolo11n-repvit.yaml", shutil.copyfile(SEED_YAML, tmp_path / "yolo11n-RepViT.yaml")):
        code, log = run([yolo, "train", f"model={model}", f"data={detection_data}", "epochs=1", "imgsz=64",
                         "device=cpu"], env=env, cwd=tmp_path)
        assert code != 0
        assert ("yolo-repvit: RepViT and Timm configs and model rows need the yolo-repvit plugin, and its autoload is "
                "off (YOLO_REPVIT_AUTOLOAD=0). Unset YOLO_REPVIT_AUTOLOAD, or add 'import yolo_repvit'") in log


@pytest.mark.slow
def test_generated_ddp_script_builds_and_trains_with_the_hook_off(detection_data, tmp_path):
    script = run_python(f"""
        import yolo_repvit
        from ultralytics.models.yolo.detect import DetectionTrainer
        from ultralytics.utils import dist
        trainer = DetectionTrainer(overrides=dict(model="yolo11n-repvit.yaml", data={str(detection_data)!r},
                                                  epochs=1, imgsz=64, batch=8, workers=0, device="cpu", plots=False,
                                                  project={str(tmp_path)!r}, name="ddp"))
        print(dist.generate_ddp_file(trainer))
    """, env=OFF).split("\n")[-2]
    assert Path(script).read_text().startswith("import yolo_repvit")
    code, log = run([sys.executable, script], env=OFF)  # what each worker runs: nothing imported beforehand
    assert code == 0, log[-3000:]
    assert (tmp_path / "ddp" / "weights" / "best.pt").is_file()


@pytest.mark.slow
def test_users_own_torchrun_launch_of_a_script_importing_the_plugin(detection_data, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(f"""import yolo_repvit
from ultralytics import YOLO
YOLO("yolo11n-repvit.yaml").train(data={str(detection_data)!r}, epochs=1, imgsz=64, batch=8, workers=0,
                                  device="cpu", plots=False, project={str(tmp_path)!r}, name="torchrun")
""")
    code, log = run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "1", str(script)], env=OFF)
    assert code == 0, log[-3000:]
    assert (tmp_path / "torchrun" / "weights" / "best.pt").is_file()
