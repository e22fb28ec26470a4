"""The plugin never breaks a neighbour, and what it does not support it says clearly."""

import copy

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ultralytics import YOLO
from ultralytics.nn.tasks import DetectionModel

from conftest import OFF, RECIPE, repvit, run_python
from yolo_repvit import VARIANTS, RepViTError

NEIGHBOUR = """
from ultralytics.nn import tasks
seen = []
def wrap(parse):
    def parse_model(d, ch, verbose=True):
        seen.append(d)
        model, save = parse(d, ch, verbose)
        model.neighbour = True
        return model, save
    return parse_model
tasks.parse_model = wrap(tasks.parse_model)
"""


@pytest.mark.slow
@pytest.mark.parametrize("order", ["neighbour first", "neighbour last"])
def test_another_parse_model_wrapper_keeps_working_and_so_do_we(order):
    activate = "import yolo_repvit"
    first, last = (NEIGHBOUR, activate) if order == "neighbour first" else (activate, NEIGHBOUR)
    out = run_python("\n".join([first, last, """
from ultralytics.nn.tasks import DetectionModel
stock = DetectionModel("yolo11n.yaml", verbose=False)
ours = DetectionModel("yolo11n-repvit.yaml", verbose=False)
print(stock.model.neighbour, ours.model.neighbour, type(ours.model[0]).__name__, len(seen))
"""]), env=OFF)
    assert out.split("\n")[-2] == "True True RepViTLayer 2"


def test_activation_from_many_threads_patches_once():
    out = run_python("""
        import threading
        from ultralytics.nn import tasks
        import yolo_repvit
        threads = [threading.Thread(target=yolo_repvit.activate) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        count, f = 0, tasks.parse_model
        while f is not None:
            count += bool(getattr(f, "__yolo_repvit__", False))
            f = getattr(f, "__wrapped__", None)
        print(count)
    """, env=OFF)
    assert out.split("\n")[-2] == "1"


def test_importing_the_plugin_later_leaves_an_existing_model_alone():
    out = run_python("""
        import torch
        from ultralytics.nn.tasks import DetectionModel
        torch.manual_seed(0)
        model = DetectionModel("yolo11n.yaml", verbose=False).eval()
        x = torch.rand(1, 3, 64, 64)
        before, state = model(x)[0], {k: v.clone() for k, v in model.state_dict().items()}
        text = repr(model)
        import yolo_repvit
        after = model(x)[0]
        print(torch.equal(before, after), text == repr(model),
              all(torch.equal(v, model.state_dict()[k]) for k, v in state.items()))
    """, env=OFF)
    assert out.split("\n")[-2] == "True True True"


def test_other_input_channels_build_without_weights():
    model = DetectionModel(repvit("repvit_m0_9", 0.25, ch=1), ch=1, nc=2, verbose=False).eval()
    assert model.model[0].body.conv1.c.in_channels == 1
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 64, 64))[0].shape == (1, 4 + 2, 64 + 16 + 4)


@pytest.mark.slow
def test_image_size_not_multiple_of_32_is_rounded_as_upstream_does():
    image = np.zeros((100, 100, 3), np.uint8)
    for cfg in ("yolo11n.yaml", "yolo11n-repvit.yaml"):
        model = YOLO(cfg)
        result = model.predict(image, imgsz=100, device="cpu", verbose=False)[0]
        assert list(model.predictor.imgsz) == [128, 128] and result.orig_shape == (100, 100), cfg
        with pytest.raises(RuntimeError):  # while a raw forward at 100 px fails alike in both
            model.model.eval()(torch.zeros(1, 3, 100, 100))


def test_timm_without_repvit_gets_one_message(tmp_path):
    fake = tmp_path / "timm"
    (fake / "models").mkdir(parents=True)
    (fake / "__init__.py").write_text("__version__ = '0.6.13'\n")
    (fake / "models" / "__init__.py").write_text("")
    out = run_python(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import yolo_repvit
        from ultralytics import YOLO
        try:
            YOLO("yolo11n-repvit.yaml")
        except yolo_repvit.RepViTError as error:
            print(error)
    """, env=OFF)
    assert out.split("\n")[-2] == ("timm 0.6.13 does not satisfy timm>=1.0.9, which yolo-repvit is tested with. Fix: "
                                    "pip install -U 'timm>=1.0.9'")


def test_timm_older_than_declared_gets_one_message(monkeypatch):
    import timm

    monkeypatch.setattr(timm, "__version__", "1.0.3")
    with pytest.raises(RepViTError) as info:
        YOLO("yolo11n-repvit.yaml")
    assert str(info.value) == ("timm 1.0.3 does not satisfy timm>=1.0.9, which yolo-repvit is tested with. "
                               "Fix: pip install -U 'timm>=1.0.9'")


# Property: any backbone row and head wiring either builds a model that runs, or raises RepViTError naming the row.
variants = st.sampled_from(list(VARIANTS))
misspelt = st.one_of(st.sampled_from(["repvit_m09", "repvit_m0.9", "RepViT", "REPVIT_M1", "repvit"]),
                     st.text("repvitm_0123456789.", min_size=6, max_size=12).map(lambda s: "repvit" + s[6:]))
anything = st.one_of(st.floats(-1, 5), st.just(float("nan")), st.integers(-2, 6), st.booleans(), st.none(),
                     st.sampled_from(["half", "dist_450e_in1k", "", "repvit_m0_9", "d2_in1k", {"drop_path_rate": 0.1}]))
wirings = st.one_of(st.integers(-12, 20), st.lists(st.integers(-12, 20), min_size=1, max_size=3))
timm_models = st.sampled_from(["convnext_atto", "resnet10t", "starnet_s050"])
timm_misnamed = st.sampled_from(["convnext_atoo", "vit_tiny_patch16_224", "repvit_m0_9", "convnext_atto.in22k", 3, ""])


@st.composite
def models(draw):
    """The recipe's model dict with each backbone-related part either valid (mostly) or anything."""

    def pick(valid, invalid):
        return draw(valid if draw(st.integers(0, 9)) < 8 else invalid)

    d = copy.deepcopy(RECIPE)
    if draw(st.booleans()):
        module = pick(variants, misspelt)
        args = pick(st.one_of(st.just([]), st.floats(0.1, 0.5).map(lambda w: [round(w, 2)])),
                    st.lists(anything, max_size=3))
    else:
        module = "Timm"
        args = [pick(timm_models, timm_misnamed), *pick(st.just([]), st.lists(anything, max_size=3))]
    d["backbone"][0] = [pick(st.just(-1), st.sampled_from([0, 2])), pick(st.just(1), st.just(2)), module, args]
    tap16, tap8 = pick(st.just(3), wirings), pick(st.just(2), wirings)
    d["head"][1] = [[-1, tap16] if isinstance(tap16, int) else tap16, 1, "Concat", [1]]
    d["head"][4] = [[-1, tap8] if isinstance(tap8, int) else tap8, 1, "Concat", [1]]
    return d


@pytest.fixture
def offline(monkeypatch):
    """Asking for ImageNet weights must fail fast with our error here, as on any machine without network."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv("YOLO_REPVIT_WEIGHTS", raising=False)


@pytest.mark.slow
def test_any_row_and_wiring_builds_or_raises_our_error(offline):
    outcomes = []

    @settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(d=models())
    def build(d):
        row = d["backbone"][0]
        try:
            model = DetectionModel(d, nc=2, verbose=False).eval()
        except RepViTError as error:
            message = str(error)
            # The error says where (the row, or the backbone it builds) and ends on a complete sentence: the fix.
            named = (message.startswith(("model row [", "Timm row ")) or message.startswith(f"{row[2]} row: ")
                     or message.startswith(f"{row[3][0] if row[3] else ''} row: "))
            assert named and message.endswith((".", ".)")), message
            outcomes.append("error")
            return
        with torch.no_grad():
            assert model(torch.zeros(1, 3, 64, 64))[0].shape[:2] == (1, 6)
        outcomes.append("built")

    build()
    assert {"built", "error"} <= set(outcomes)  # both branches reached, so the property was really tested
