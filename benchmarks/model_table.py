"""Parameters and GFLOPs of every shipped config next to upstream YOLO11; prints and writes a table.

    python benchmarks/model_table.py            # writes benchmarks/results/model_table.md

GFLOPs are ultralytics' own count at 640x640 for the fused (inference) model.
"""

import sys
from pathlib import Path

import yolo_repvit  # noqa: F401
from ultralytics import YOLO
from ultralytics.utils.torch_utils import get_flops

from yolo_repvit.configs import variant_configs

OUT = Path(__file__).parent / "results" / "model_table.md"


def measure(cfg):
    model = YOLO(cfg).model.eval()
    params = sum(p.numel() for p in model.parameters())
    backbone = getattr(model.model[0], "variant", "YOLO11's own")
    model.fuse(verbose=False)
    return backbone, params / 1e6, get_flops(model, 640)


def main():
    rows = [("config", "backbone", "params (M)", "GFLOPs@640 (fused)")]
    for scale in "nsmlx":
        for cfg in (f"yolo11{scale}-repvit.yaml", f"yolo11{scale}.yaml"):
            rows.append((cfg, *measure(cfg)))
    for name in variant_configs().values():
        cfg = name.replace("yolo11-", "yolo11n-")
        rows.append((cfg, *measure(cfg)))
    lines = [f"| {' | '.join(rows[0])} |", "|" + "---|" * len(rows[0])]
    lines += [f"| {c} | {b} | {p:.2f} | {g:.1f} |" for c, b, p, g in rows[1:]]
    table = "\n".join(lines) + "\n"
    print(table)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
