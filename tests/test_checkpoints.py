"""Checkpoints that earlier releases wrote still load, predict and fuse: users' ``best.pt`` files outlive our code.

Each folder of ``tests/data/checkpoints/`` holds the ``best.pt`` files one release's training wrote, tensors
zeroed, and what each model's head read once the tensors were refilled (``tools/checkpoint_fixtures.py``).
Today's code must unpickle them in a fresh process (the startup hook, no import), compute the same maps,
unfused and fused, and run ultralytics' predictor on them.
"""

import gzip
import json
import shutil

import pytest
import torch

from conftest import ROOT, run_python

FIXTURES = ROOT / "tests" / "data" / "checkpoints"
RELEASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


@pytest.mark.parametrize("release", RELEASES)
def test_checkpoints_of_a_release_load_predict_and_fuse(release, tmp_path):
    expected = json.loads((FIXTURES / release / "expected.json").read_text())
    for name in expected:
        with gzip.open(FIXTURES / release / f"{name}.pt.gz", "rb") as src, open(tmp_path / f"{name}.pt", "wb") as dst:
            shutil.copyfileobj(src, dst)
    out = run_python(f"""
        import json, sys
        import numpy as np
        sys.path.insert(0, {str(ROOT / "tools")!r})
        from checkpoint_fixtures import head_inputs, refill
        from ultralytics import YOLO

        found = {{}}
        for name in {sorted(expected)!r}:
            path = {str(tmp_path)!r} + f"/{{name}}.pt"
            net = refill(YOLO(path).model.float())
            unfused = head_inputs(net)
            net.fuse()
            found[name] = {{"unfused": unfused, "fused": head_inputs(net), "fused_flag": net.is_fused()}}
            YOLO(path).predict(np.zeros((64, 64, 3), np.uint8), imgsz=64, verbose=False)  # upstream's predictor
        print(json.dumps(found))
    """)
    found = json.loads(out.strip().splitlines()[-1])
    for name, values in expected.items():
        want = torch.tensor(values)
        atol = 1e-4 * want.abs().max().item()
        assert torch.allclose(torch.tensor(found[name]["unfused"]), want, rtol=1e-4, atol=atol), name
        assert torch.allclose(torch.tensor(found[name]["fused"]), want, rtol=1e-3, atol=atol), name
        assert found[name]["fused_flag"], name
