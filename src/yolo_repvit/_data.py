"""Small, deterministic datasets for every YOLO task, drawn on the fly so nothing has to be downloaded.

Each image holds filled shapes (square, disc, triangle) of random colour and size on a noisy
background; the class is the shape.  The same drawn shapes give each task its labels:

- ``detect``: the shape's box; ``segment``: its outline polygon; ``obb``: the corners of the
  square it fills, turned with it (squares and triangles are drawn rotated for this task);
- ``pose``: the box plus five keypoints (:data:`KPT_SHAPE`): the centre, then where the outline
  crosses the vertical and horizontal lines through it (top, right, bottom, left);
- ``classify``: one shape per image, filed under ``root/{train,val}/<class>/``.

The other tasks use the recipe's layout, ``root/{train,val}/{images,labels}`` with YOLO txt
labels and ``labels/classes.txt``, plus a ``data.yaml`` that ultralytics reads.
"""

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("square", "disc", "triangle")
TASKS = ("detect", "segment", "pose", "obb", "classify")
KPT_SHAPE = (5, 3)  # keypoints per shape, values per keypoint (x, y, visibility)
FLIP_IDX = (0, 1, 4, 3, 2)  # a left-right flip swaps the right- and left-most keypoints


def make_dataset(task: str, root: Union[str, os.PathLike], train: int = 64, val: int = 16, imgsz: int = 128,
                 seed: int = 0) -> Path:
    """Write a dataset for ``task`` under ``root``; return what ``data=`` takes (``root`` itself to classify)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; pass one of {', '.join(TASKS)}.")
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("val", val)):
        names = [f"{split}_{k:04d}" for k in range(count)]
        if task == "classify":
            _write_classified(root / split, names, rng, imgsz)
        else:
            _write_labelled(task, root / split, names, rng, imgsz)
    if task == "classify":
        return root
    data = write_data_yaml(root)
    if task == "pose":
        with data.open("a") as f:
            f.write(f"kpt_shape: {list(KPT_SHAPE)}\nflip_idx: {list(FLIP_IDX)}\n")
    return data


def make_detection_dataset(root, train=64, val=16, imgsz=128, seed=0):
    """Write the detection dataset under ``root`` and return the path of its ``data.yaml``."""
    return make_dataset("detect", root, train, val, imgsz, seed)


def write_data_yaml(root: Union[str, os.PathLike]) -> Path:
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


@dataclass(frozen=True)
class Shape:
    """One drawn shape, in pixels: class, centre, half the side of the square it fills, rotation."""

    cls: int
    cx: float
    cy: float
    half: float
    angle: float = 0.0

    def outline(self):
        h = self.half
        if CLASSES[self.cls] == "disc":
            return self._place((h * math.cos(t), h * math.sin(t)) for t in np.linspace(0, 2 * math.pi, 32, False))
        if CLASSES[self.cls] == "triangle":
            return self._place(((0, -h), (h, h), (-h, h)))
        return self.corners()

    def corners(self):
        h = self.half
        return self._place(((-h, -h), (h, -h), (h, h), (-h, h)))

    def keypoints(self):
        h = self.half
        across = h / 2 if CLASSES[self.cls] == "triangle" else h  # a triangle is half as wide at mid-height
        return self._place(((0, 0), (0, -h), (across, 0), (0, h), (-across, 0)))

    def _place(self, offsets):
        """Turn offsets from the centre by the shape's angle and move them onto the centre."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        return [(self.cx + x * c - y * s, self.cy + x * s + y * c) for x, y in offsets]


def _write_labelled(task, folder, names, rng, size):
    for sub in ("images", "labels"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "labels" / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    for name in names:
        image, shapes = _scene(rng, size, rotate=task == "obb")
        image.save(folder / "images" / f"{name}.jpg", quality=95)
        (folder / "labels" / f"{name}.txt").write_text("".join(_label(task, shape, size) for shape in shapes))


def _write_classified(folder, names, rng, size):
    for k, name in enumerate(names):
        cls = k % len(CLASSES)  # every class in every split, so both splits list the same class folders
        image, _ = _scene(rng, size, cls=cls)
        (folder / CLASSES[cls]).mkdir(parents=True, exist_ok=True)
        image.save(folder / CLASSES[cls] / f"{name}.jpg", quality=95)


def _label(task, shape, size):
    """One label line in ultralytics' txt format for ``task``, coordinates normalised by the image size."""
    if task in ("segment", "obb"):
        points = shape.outline() if task == "segment" else shape.corners()
        values = [v / size for point in points for v in point]
    else:
        side = 2 * shape.half / size
        values = [shape.cx / size, shape.cy / size, side, side]
        if task == "pose":
            values += [v for x, y in shape.keypoints() for v in (x / size, y / size, 2)]  # 2: labelled, visible
    return f"{shape.cls} " + " ".join(f"{v:.6f}" for v in values) + "\n"


def _scene(rng, size, rotate=False, cls=None):
    """An image with one to four non-overlapping shapes (one of class ``cls`` if given), and the shapes.

    ``rotate`` turns squares and triangles by a random angle, shrunk to stay inside their footprint.
    """
    background = rng.integers(40, 90, 3) + rng.normal(0, 12, (size, size, 3))
    image = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8))
    pen = ImageDraw.Draw(image)
    shapes, taken = [], []
    for _ in range(1 if cls is not None else rng.integers(1, 5)):
        kind = int(rng.integers(len(CLASSES))) if cls is None else cls
        side = int(rng.integers(size // 6, size // 2.5))
        x0, y0 = (int(v) for v in rng.integers(0, size - side, 2))
        x1, y1 = x0 + side, y0 + side
        if any(x0 < bx1 and bx0 < x1 and y0 < by1 and by0 < y1 for bx0, by0, bx1, by1 in taken):
            continue  # shapes never overlap, so every label is fully visible
        taken.append((x0, y0, x1, y1))
        colour = tuple(int(v) for v in rng.integers(130, 256, 3))
        shape = Shape(kind, x0 + side / 2, y0 + side / 2, side / 2)
        if rotate and CLASSES[kind] != "disc":  # a disc has no orientation to learn
            shape = Shape(kind, shape.cx, shape.cy, shape.half / math.sqrt(2), float(rng.uniform(0, math.pi / 2)))
        if CLASSES[kind] == "disc":
            pen.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            pen.polygon(shape.outline(), fill=colour)
        shapes.append(shape)
    return image, shapes
