"""A small, deterministic detection dataset drawn on the fly, so nothing has to be downloaded.

Each image holds one to four filled shapes (square, disc, triangle) of random colour and size on
a noisy background; the class is the shape.  The layout is the recipe's:
``root/{train,val}/{images,labels}`` with YOLO txt labels and ``labels/classes.txt``, plus a
``data.yaml`` that ultralytics reads.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("square", "disc", "triangle")


def make_detection_dataset(root, train=64, val=16, imgsz=128, seed=0):
    """Write the dataset under ``root`` and return the path of its ``data.yaml``."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("val", val)):
        images, labels = root / split / "images", root / split / "labels"
        images.mkdir(parents=True, exist_ok=True)
        labels.mkdir(parents=True, exist_ok=True)
        (labels / "classes.txt").write_text("\n".join(CLASSES) + "\n")
        for k in range(count):
            image, boxes = _draw(rng, imgsz)
            image.save(images / f"{split}_{k:04d}.jpg", quality=95)
            (labels / f"{split}_{k:04d}.txt").write_text("".join(f"{c} {x:.6f} {y:.6f} {w:.6f} {h:.6f}\n"
                                                                 for c, x, y, w, h in boxes))
    return write_data_yaml(root)


def write_data_yaml(root):
    """Write ``root/data.yaml`` for a dataset in the recipe's layout, class names from ``classes.txt``."""
    root = Path(root)
    classes = root / "train" / "labels" / "classes.txt"
    if not classes.is_file():
        raise FileNotFoundError(f"{classes} not found: the recipe's layout is root/{{train,val}}/{{images,labels}} "
                                "with one class name per line in train/labels/classes.txt")
    names = "".join(f"  {i}: {name}\n" for i, name in enumerate(classes.read_text().split()))
    data = root / "data.yaml"
    data.write_text(f"path: {root.resolve()}\ntrain: train/images\nval: val/images\nnames:\n{names}")
    return data


def _draw(rng, size):
    background = rng.integers(40, 90, 3) + rng.normal(0, 12, (size, size, 3))
    image = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8))
    pen = ImageDraw.Draw(image)
    boxes, taken = [], []
    for _ in range(rng.integers(1, 5)):
        cls = int(rng.integers(len(CLASSES)))
        side = int(rng.integers(size // 6, size // 2.5))
        x0, y0 = (int(v) for v in rng.integers(0, size - side, 2))
        x1, y1 = x0 + side, y0 + side
        if any(x0 < bx1 and bx0 < x1 and y0 < by1 and by0 < y1 for bx0, by0, bx1, by1 in taken):
            continue  # shapes never overlap, so every label is fully visible
        taken.append((x0, y0, x1, y1))
        colour = tuple(int(v) for v in rng.integers(130, 256, 3))
        if cls == 0:
            pen.rectangle((x0, y0, x1, y1), fill=colour)
        elif cls == 1:
            pen.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            pen.polygon(((x0 + side / 2, y0), (x1, y1), (x0, y1)), fill=colour)
        boxes.append((cls, (x0 + x1) / 2 / size, (y0 + y1) / 2 / size, side / size, side / size))
    return image, boxes
