"""Where users run it without writing `import yolo_repvit`: the startup hook, the `yolo` CLI, DDP workers."""

import shutil
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import OFF, SEED_YAML, run, run_python

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ("PYTHONPATH", "YOLO_REPVIT_AUTOLOAD")  # what would put the checkout's sources on a child's path


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    """A new virtual environment holding only our wheel (and ultralytics' CLI), reusing this one's torch/timm."""
    where = tmp_path_factory.mktemp("wheelenv")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", where / "dist", ROOT])
    venv = where / "venv"
    run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    child_site = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    # The parent's packages (torch, timm, ...) as a plain path entry: its .pth files, ours included, are not run.
    Path(child_site, "parent-site.pth").write_text(sysconfig.get_path("purelib") + "\n")
    import ultralytics

    wheel = next((where / "dist").glob("yolo_repvit-*.whl"))
    for package in (str(wheel), f"ultralytics=={ultralytics.__version__}"):  # ultralytics for its `yolo` script
        run([python, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", package])
    return venv


@pytest.mark.slow
def test_wheel_installs_a_startup_hook_that_imports_nothing(wheel_env):
    python = str(wheel_env / "bin" / "python")
    probe = ("import sys; print(sorted(m for m in ('torch', 'ultralytics', 'timm', 'yolo_repvit') if m in sys.modules),"
             " sys.modules['_yolo_repvit_autoload'].__file__.startswith(sys.prefix))")
    assert run([python, "-c", probe], drop=CLEAN).stdout.strip() == "[] True"
    files = {p.name for p in Path(wheel_env).rglob("yolo_repvit-autoload.*")}
    assert files == {"yolo_repvit-autoload.pth", "yolo_repvit-autoload.start"}
    shipped = next(Path(wheel_env).rglob("yolo_repvit/cfg"))  # the configs travel as files, not a link
    assert not shipped.is_symlink() and (shipped / "yolo11-repvit.yaml").is_file()
    # and the hook module itself loads nothing new: -X importtime lists a module's imports just above it, indented
    lines = run([python, "-X", "importtime", "-c", "pass"], drop=CLEAN).stderr.splitlines()
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
    common = ["imgsz=64", "device=cpu", "workers=0"]
    run([yolo, "train", "model=yolo11n-repvit.yaml", f"data={detection_data}", "epochs=1", "batch=8", "plots=False",
         f"project={tmp_path}", "name=shipped", *common], drop=CLEAN, cwd=tmp_path)
    seed = shutil.copyfile(SEED_YAML, tmp_path / "yolo11n-RepViT.yaml")  # the recipe's file, by path
    run([yolo, "train", f"model={seed}", f"data={detection_data}", "epochs=1", "batch=8", "plots=False",
         f"project={tmp_path}", "name=recipe", *common], drop=CLEAN, cwd=tmp_path)
    best = tmp_path / "recipe" / "weights" / "best.pt"
    for mode, extra in (("val", [f"data={detection_data}", "batch=8", "plots=False", f"project={tmp_path}"]),
                        ("predict", [f"source={detection_data.parent / 'val' / 'images'}", "save=False"]),
                        ("export", ["format=torchscript"])):
        run([yolo, mode, f"model={best}", *common[:2], *extra], drop=CLEAN, cwd=tmp_path)
    assert (best.parent / "best.torchscript").is_file()


@pytest.mark.slow
def test_autoload_off_the_cli_does_not_know_repvit_and_says_how_to_enable(wheel_env, detection_data, tmp_path):
    yolo = str(wheel_env / "bin" / "yolo")
    for model in ("yolo11n-repvit.yaml", shutil.copyfile(SEED_YAML, tmp_path / "yolo11n-RepViT.yaml")):
        done = run([yolo, "train", f"model={model}", f"data={detection_data}", "epochs=1", "imgsz=64", "device=cpu"],
                   env=OFF, drop=CLEAN, cwd=tmp_path, expect=None)
        log = done.stdout + done.stderr
        assert done.returncode != 0
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
    run([sys.executable, script], env=OFF)  # what each worker runs: nothing imported beforehand
    assert (tmp_path / "ddp" / "weights" / "best.pt").is_file()


@pytest.mark.slow
def test_users_own_torchrun_launch_of_a_script_importing_the_plugin(detection_data, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(f"""import yolo_repvit
from ultralytics import YOLO
YOLO("yolo11n-repvit.yaml").train(data={str(detection_data)!r}, epochs=1, imgsz=64, batch=8, workers=0,
                                  device="cpu", plots=False, project={str(tmp_path)!r}, name="torchrun")
""")
    run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "1", script], env=OFF)
    assert (tmp_path / "torchrun" / "weights" / "best.pt").is_file()
