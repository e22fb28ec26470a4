"""RepViT under every YOLO task and head: the task configs build at every scale, and each task trains,
reloads in a fresh process, predicts and exports to ONNX.  Tiny generated data, CPU, 64 px."""

import csv
import functools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import ultralytics
import yaml
from PIL import Image
from ultralytics import YOLO
from ultralytics.nn import tasks

from conftest import OFF, run, run_python, script
from yolo_repvit import RepViTError, _ultralytics
from yolo_repvit._configs import CONFIG_DIR
from yolo_repvit._data import CLASSES, KPT_SHAPE, TASKS, make_dataset
from yolo_repvit._repvit_variants import VARIANTS
from yolo_repvit._versions import at_least

BACKBONE = {"n": "repvit_m0_6", "s": "repvit_m0_9", "m": "repvit_m1_1", "l": "repvit_m1_5", "x": "repvit_m2_3"}

YOLO26_MIN = yaml.safe_load((CONFIG_DIR / "yolo26-repvit.yaml").read_text())["min_ultralytics"]
SLOW = pytest.mark.slow
NEEDS_YOLO26 = pytest.mark.skipif(
    not at_least(ultralytics.__version__, YOLO26_MIN),
    reason=f"YOLO26 layers need ultralytics>={YOLO26_MIN}")

# Config (scale letter at {}): the task ultralytics guesses from it, the upstream config whose layers
# after the backbone it mirrors (None: no upstream twin), and the layers its output head reads.
CONFIGS = {
    "yolo11{}-repvit-seg.yaml": ("segment", "yolo11{}-seg.yaml", [12, 15, 18]),
    "yolo11{}-repvit-pose.yaml": ("pose", "yolo11{}-pose.yaml", [12, 15, 18]),
    "yolo11{}-repvit-obb.yaml": ("obb", "yolo11{}-obb.yaml", [12, 15, 18]),
    "yolo11{}-repvit-cls.yaml": ("classify", None, -1),  # Classify straight on layer 4
    "yolo11{}-repvit-p2.yaml": ("detect", None, [15, 18, 21, 24]),  # + stride 4 output (reads layer 1)
    "yolov8{}-repvit.yaml": ("detect", "yolov8{}.yaml", [11, 14, 17]),
    "yolo26{}-repvit.yaml": ("detect", "yolo26{}.yaml", [12, 15, 18]),
}

# Output tensors of the eval forward at 64x64, predictions first; 80 classes (1000 to classify). A 64 px
# image gives 8x8 + 4x4 + 2x2 = 84 anchors at strides 8/16/32 (+ 16x16 at stride 4 for P2).
SHAPES_AT_64 = {
    "yolo11{}-repvit-seg.yaml": [(1, 4 + 80 + 32, 84), (1, 32, 16, 16)],  # + mask coefficients; prototypes
    "yolo11{}-repvit-pose.yaml": [(1, 4 + 80 + 17 * 3, 84)],
    "yolo11{}-repvit-obb.yaml": [(1, 4 + 80 + 1, 84)],  # + angle
    "yolo11{}-repvit-cls.yaml": [(1, 1000)],
    "yolo11{}-repvit-p2.yaml": [(1, 4 + 80, 16 * 16 + 84)],
    "yolov8{}-repvit.yaml": [(1, 4 + 80, 84)],
}

# Training cases: config and dataset task, and what one prediction holds (None: any count >= 1).
CASES = {
    "detect-p2": ("yolo11n-repvit-p2.yaml", "detect", {"boxes": (None, 6)}),
    "segment": ("yolo11n-repvit-seg.yaml", "segment", {"boxes": (None, 6), "masks": (None, 64, 64)}),
    "pose": ("yolo11n-repvit-pose.yaml", "pose", {"boxes": (None, 6), "keypoints": (None, *KPT_SHAPE)}),
    "obb": ("yolo11n-repvit-obb.yaml", "obb", {"obb": (None, 7)}),
    "classify": ("yolo11n-repvit-cls.yaml", "classify", {"probs": (len(CLASSES),)}),
    "v8": ("yolov8n-repvit.yaml", "detect", {"boxes": (None, 6)}),
}
TRAINERS = {"detect": "DetectionTrainer", "segment": "SegmentationTrainer", "pose": "PoseTrainer", "obb": "OBBTrainer",
            "classify": "ClassificationTrainer"}
TRAIN = dict(epochs=1, imgsz=64, batch=8, workers=0, device="cpu", plots=False, verbose=False)


def tensors(out):
    """The tensors of a (nested) model output, in order."""
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for part in out for t in tensors(part)] if isinstance(out, (list, tuple)) else []


def outputs(model, x):
    """The tensors an eval forward returns, predictions first (how the rest nests varies by release)."""
    with torch.no_grad():
        return tensors(model.eval()(x))


@pytest.mark.parametrize(("config", "scale"), [  # scale n in the fast run, every scale in the whole suite
    pytest.param(c, s, marks=[*([NEEDS_YOLO26] if c.startswith("yolo26") else []), *([] if s == "n" else [SLOW])])
    for c in CONFIGS for s in BACKBONE])
def test_every_task_config_builds_at_every_scale(config, scale, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # found by bare name, through ultralytics' scale-free lookup
    task, twin, reads = CONFIGS[config]
    d = tasks.yaml_model_load(config.format(scale))
    layers, _ = tasks.parse_model(d, 3, verbose=False)
    assert d["scale"] == scale and tasks.guess_model_task(d) == task
    assert {m.variant for m in layers[:5]} == {BACKBONE[scale]}
    assert [m.out_channels for m in layers[1:5]] == list(VARIANTS[BACKBONE[scale]].widths)
    assert layers[-1].f == reads
    if twin:  # the same layers as upstream's model after its convolutional backbone (layers 0-8)
        upstream, _ = tasks.parse_model(tasks.yaml_model_load(twin.format(scale)), 3, verbose=False)
        assert [m.type for m in layers[5:]] == [m.type for m in upstream[9:]]


@pytest.mark.parametrize("config", list(SHAPES_AT_64))
def test_task_model_predicts_expected_shapes(config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = YOLO(config.format("n"))
    assert model.task == CONFIGS[config][0]
    shapes = [tuple(t.shape) for t in outputs(model.model, torch.zeros(1, 3, 64, 64))]
    assert shapes[0] == SHAPES_AT_64[config][0] and set(SHAPES_AT_64[config]) <= set(shapes)


@NEEDS_YOLO26
def test_yolo26_config_builds_upstreams_end_to_end_head(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ours, upstream = YOLO("yolo26n-repvit.yaml").model, YOLO("yolo26n.yaml").model
    x = torch.zeros(1, 3, 64, 64)
    assert [t.shape for t in outputs(ours, x)] == [t.shape for t in outputs(upstream, x)]
    head = ours.model[-1]
    assert head.reg_max == 1 and head.one2one_cv2 is not None  # YOLO26's NMS-free one-to-one branch


def test_yolo26_config_on_older_ultralytics_says_which_release_it_needs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_ultralytics, "ultralytics_version", lambda: "8.3.253")  # the last release before 8.4.0
    with pytest.raises(RepViTError, match=r"yolo26n-repvit\.yaml needs ultralytics>=8\.4\.0 .* ultralytics 8\.3\.253 "
                                          r"is installed\. Upgrade: pip install -U 'ultralytics>=8\.4\.0'"):
        YOLO("yolo26n-repvit.yaml")


def label_rows(root):
    return [line.split() for f in sorted(root.glob("*/labels/*_*.txt")) for line in f.read_text().splitlines()]


@pytest.mark.parametrize("task", TASKS)
def test_generated_datasets_are_deterministic_and_in_the_task_format(task, tmp_path):
    data = make_dataset(task, tmp_path / "a", train=6, val=3, imgsz=64)
    make_dataset(task, tmp_path / "b", train=6, val=3, imgsz=64)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*") if p.name != "data.yaml")
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    if task == "classify":  # ImageFolder layout, every class in both splits
        assert data == tmp_path / "a"
        assert [sorted(p.name for p in (data / split).iterdir()) for split in ("train", "val")] == [sorted(CLASSES)] * 2
        return
    rows = label_rows(data.parent)
    values = np.array([float(v) for row in rows for v in row[1:]])
    assert rows and all(row[0] in {"0", "1", "2"} for row in rows)
    if task == "pose":
        assert yaml.safe_load(data.read_text())["kpt_shape"] == list(KPT_SHAPE)
        points = np.array([row[5:] for row in rows], float).reshape(len(rows), *KPT_SHAPE)
        assert (points[:, :, 2] == 2).all()  # every keypoint labelled and visible
        assert np.allclose(points[:, 0, :2], np.array([row[1:3] for row in rows], float))  # the first is the centre
        values = points[:, :, :2]
    assert ((0 <= values) & (values <= 1)).all()  # normalised and inside the image
    lengths = {"detect": {5}, "pose": {5 + 15}, "obb": {1 + 8}, "segment": {1 + 2 * 4, 1 + 2 * 32, 1 + 2 * 3}}[task]
    assert {len(row) for row in rows} <= lengths  # segment: a square, disc or triangle outline


@pytest.fixture(scope="session")
def task_data(tmp_path_factory):
    """A tiny dataset per task (16 training and 8 validation images at 64 px), made once per session."""
    root = tmp_path_factory.mktemp("task-data")
    return {task: make_dataset(task, root / task, train=16, val=8, imgsz=64) for task in TASKS}


@pytest.fixture(scope="session")
def train_case(tmp_path_factory, task_data):
    """Train a case for one epoch on first use (by bare config name, no task=); case -> trained YOLO."""
    project = tmp_path_factory.mktemp("task-runs")

    @functools.cache
    def train(case):
        config, dataset, _ = CASES[case]
        model = YOLO(config)
        model.train(data=str(task_data[dataset]), project=str(project), name=case, **TRAIN)
        return model

    return train


def val_image(task_data, case):
    data = task_data[CASES[case][1]]
    root = data if data.is_dir() else data.parent
    return sorted((root / "val").rglob("*.jpg"))[0]


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_each_task_trains_with_the_trainer_its_config_selects(case, train_case):
    model = train_case(case)
    dataset = CASES[case][1]
    assert model.task == dataset and type(model.trainer).__name__ == TRAINERS[dataset]
    run = Path(model.trainer.save_dir)
    with open(run / "results.csv") as f:
        assert [int(float(row["epoch"])) for row in csv.DictReader(f, skipinitialspace=True)] == [1]
    assert (run / "weights" / "best.pt").is_file()


@pytest.fixture(scope="session")
def reloaded(train_case, task_data):
    """Every case's best.pt loaded and run in one fresh process that never imports yolo_repvit itself."""
    jobs = {case: (str(train_case(case).trainer.best), str(val_image(task_data, case))) for case in CASES}
    out = run_python(f"""
        import json, sys
        from ultralytics import YOLO
        report = {{}}
        for case, (best, image) in {jobs!r}.items():
            model = YOLO(best)
            result = model.predict(image, imgsz=64, device="cpu", conf=0.0, verbose=False)[0]
            report[case] = dict(
                task=model.task, layer=type(model.model.model[1]).__name__, stride=model.model.stride.tolist(),
                shapes={{k: list(getattr(result, k).data.shape) for k in ("boxes", "masks", "keypoints", "obb", "probs")
                        if getattr(result, k) is not None}})
        report["plugin loaded by unpickling"] = "yolo_repvit" in sys.modules
        print(json.dumps(report))
    """, env=OFF)
    return json.loads(out.splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_best_pt_reloads_and_predicts_in_a_fresh_process(case, reloaded):
    got = reloaded[case]
    assert reloaded["plugin loaded by unpickling"]
    assert (got["task"], got["layer"]) == (CASES[case][1], "RepViTLayer")
    assert got["stride"] == {"detect-p2": [4, 8, 16, 32], "classify": [1]}.get(case, [8, 16, 32])
    count = next(iter(got["shapes"].values()))[0]  # conf=0: whatever the one-epoch model finds, at least one
    expected = {k: [count if n is None else n for n in shape] for k, shape in CASES[case][2].items()}
    assert got["shapes"] == expected and count >= 1


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_onnx_export_reproduces_the_fused_model(case, train_case, task_data):
    import onnxruntime

    best = train_case(case).trainer.best
    exported = YOLO(best).export(format="onnx", imgsz=64)
    model = YOLO(best).model.fuse()
    assert all(m.fused for m in model.model[:5])
    pixels = np.asarray(Image.open(val_image(task_data, case)).convert("RGB"), np.float32) / 255
    x = torch.from_numpy(pixels).permute(2, 0, 1)[None].contiguous()
    expected = outputs(model, x)
    session = onnxruntime.InferenceSession(exported)
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    assert got[0].shape == tuple(expected[0].shape)
    for g in got:  # predictions, then (segment) mask prototypes
        twin = next(e for e in expected if tuple(e.shape) == g.shape).numpy()
        assert np.abs(g - twin).max() <= 1e-4 * np.abs(twin).max() + 1e-6


@pytest.mark.slow
def test_yolo_cli_picks_the_segment_trainer_from_the_config_name(tmp_path, task_data):
    run([script("yolo"), "train", "model=yolo11n-repvit-seg.yaml", f"data={task_data['segment']}", "epochs=1",
         "imgsz=64", "batch=8", "workers=0", "device=cpu", "plots=False", f"project={tmp_path}", "name=cli"],
        cwd=tmp_path)
    assert yaml.safe_load((tmp_path / "cli" / "args.yaml").read_text())["task"] == "segment"
    assert (tmp_path / "cli" / "weights" / "best.pt").is_file()
