"""Detection datasets for the learning study, made offline and reproducibly from a seed.

Two kinds, each written in ultralytics' layout (``root/{train,val}/{images,labels}``, YOLO txt
labels, ``root/data.yaml`` with an absolute ``path:``):

- ``photo``: small objects cut from photographs bundled with scikit-image (faces, coins, the cat,
  the coffee cup, the rocket) pasted with a soft elliptical mask onto crops of other bundled
  photographs and textures.  Real image statistics, small targets, five classes.  Faces and coins
  are split by instance, so validation shows faces and coins never seen in training.
- ``digits``: the ten digits drawn with Pillow's bundled font, each turned, sheared and thickened
  at random, on paper-like backgrounds with ruled lines and scribbles.  Ten classes.

Every split draws from its own random stream (``[seed, split]``), so the validation images do not
change when the number of training images does.  A label box is the bounding box of the pixels
where the pasted object covers at least half of the image, so boxes are tight on what is visible.
"""

from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PHOTO_CLASSES = ("face", "coin", "cat", "cup", "rocket")
DIGIT_CLASSES = tuple(str(d) for d in range(10))
SPLITS = ("train", "val")

# Where single objects sit in their photographs, (x0, y0, x1, y1) in source pixels.
_SINGLE_OBJECTS = {"cat": ("chelsea", (40, 0, 420, 300)),
                   "cup": ("coffee", (75, 65, 480, 392)),
                   "rocket": ("rocket", (300, 125, 346, 408))}
# The 24 coins of skimage.data.coins(), row by row; the last coin of each row is kept for validation.
_COINS = ((21, 35, 67, 74), (80, 39, 121, 74), (132, 30, 180, 74), (192, 30, 240, 73), (255, 33, 297, 72),
          (305, 15, 365, 72), (23, 104, 68, 146), (83, 107, 123, 145), (133, 109, 175, 145), (185, 105, 228, 145),
          (245, 96, 297, 144), (317, 105, 358, 145), (24, 178, 63, 216), (79, 174, 125, 217), (134, 179, 175, 217),
          (188, 170, 237, 217), (251, 172, 298, 217), (315, 156, 380, 217), (18, 233, 75, 288), (92, 245, 136, 288),
          (143, 237, 201, 287), (219, 241, 270, 288), (275, 240, 327, 288), (335, 248, 381, 289))
_FACES = 100  # lfw_subset() holds 100 faces, then 100 non-face patches
_BACKGROUNDS = ("brick", "grass", "gravel", "hubble_deep_field", "immunohistochemistry", "moon", "retina", "page",
                "text", "camera")


def make_scenes(kind, root, train=256, val=64, imgsz=128, seed=0):
    """Write a ``kind`` dataset (``photo`` or ``digits``) under ``root``; return the path of its ``data.yaml``."""
    if kind not in SCENES:
        raise ValueError(f"unknown scene kind {kind!r}; pass one of {', '.join(SCENES)}")
    classes, draw = SCENES[kind]
    root = Path(root)
    for index, (split, count) in enumerate(zip(SPLITS, (train, val))):
        rng = np.random.default_rng([seed, index])
        images, labels = root / split / "images", root / split / "labels"
        images.mkdir(parents=True, exist_ok=True)
        labels.mkdir(parents=True, exist_ok=True)
        for k in range(count):
            image, boxes = draw(rng, imgsz, split)
            image.save(images / f"{split}_{k:04d}.jpg", quality=95)
            (labels / f"{split}_{k:04d}.txt").write_text("".join(_label_line(box, imgsz) for box in boxes))
    names = "".join(f"  {i}: '{name}'\n" for i, name in enumerate(classes))
    data = root / "data.yaml"
    data.write_text(f"path: {root.resolve()}\ntrain: train/images\nval: val/images\nnames:\n{names}")
    return data


def _label_line(box, size):
    cls, x0, y0, x1, y1 = box
    values = ((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0)
    return f"{cls} " + " ".join(f"{v / size:.6f}" for v in values) + "\n"


def _paste(canvas, sprite, x, y):
    """Blend an RGBA float sprite onto the float canvas at (x, y); return the box of its visible pixels."""
    h, w = sprite.shape[:2]
    alpha = sprite[..., 3:]
    canvas[y:y + h, x:x + w] = canvas[y:y + h, x:x + w] * (1 - alpha) + sprite[..., :3] * alpha
    rows, cols = np.nonzero(sprite[..., 3] >= 0.5)
    return x + cols.min(), y + rows.min(), x + cols.max() + 1, y + rows.max() + 1


def _place(rng, taken, w, h, size, tries=20):
    """A top-left corner where a ``w`` x ``h`` box fits in the image without touching the boxes taken."""
    for _ in range(tries):
        x, y = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
        if not any(x < bx1 and bx0 < x + w and y < by1 and by0 < y + h for bx0, by0, bx1, by1 in taken):
            taken.append((x, y, x + w, y + h))
            return x, y
    return None


def _ellipse_alpha(w, h):
    """A soft-edged ellipse filling a ``w`` x ``h`` patch: objects blend in instead of showing a crop's edge."""
    ys, xs = np.mgrid[0:h, 0:w]
    r = np.hypot((xs + 0.5 - w / 2) / (w / 2), (ys + 0.5 - h / 2) / (h / 2))
    return np.clip((1 - r) * 6, 0, 1)


# --- photo scenes -------------------------------------------------------------------------------------------------

@cache
def _photo_sources():
    """Per split, the source patches of each class as RGBA float arrays in [0, 1], largest side first unscaled."""
    from skimage import data
    from skimage.util import img_as_float32

    def rgba(image):
        rgb = img_as_float32(image)
        rgb = np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb
        return np.dstack([rgb, _ellipse_alpha(rgb.shape[1], rgb.shape[0])])

    faces = data.lfw_subset()[:_FACES]
    coins = data.coins()
    sources = {split: [] for split in SPLITS}
    for split, chosen in (("train", faces[:80]), ("val", faces[80:])):
        sources[split].append([rgba(face) for face in chosen])
    for split, keep in (("train", lambda k: k % 6 != 5), ("val", lambda k: k % 6 == 5)):
        sources[split].append([rgba(coins[y0:y1, x0:x1]) for k, (x0, y0, x1, y1) in enumerate(_COINS) if keep(k)])
    for name in PHOTO_CLASSES[2:]:
        image, (x0, y0, x1, y1) = _SINGLE_OBJECTS[name]
        patch = rgba(getattr(data, image)()[y0:y1, x0:x1])
        for split in SPLITS:
            sources[split].append([patch])
    return sources


@cache
def _background_images():
    from skimage import data

    return [np.asarray(getattr(data, name)(), dtype=np.float32) / 255 for name in _BACKGROUNDS]


def _photo_background(rng, size):
    """A random crop of a bundled photograph or texture, resized to ``size``; grey ones get a random tint."""
    source = _background_images()[int(rng.integers(len(_BACKGROUNDS)))]
    side = int(rng.integers(min(96, *source.shape[:2]), min(384, *source.shape[:2]) + 1))
    y, x = int(rng.integers(0, source.shape[0] - side + 1)), int(rng.integers(0, source.shape[1] - side + 1))
    crop = source[y:y + side, x:x + side]
    if crop.ndim == 2:
        crop = crop[..., None] * rng.uniform(0.6, 1.0, 3).astype(np.float32)
    crop = Image.fromarray((crop[..., :3] * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
    return np.asarray(crop, dtype=np.float32) / 255


def _photo_object(rng, source, size):
    """One instance: scaled so its long side is 8-25 % of the image, maybe mirrored, brightness jittered."""
    long_side = rng.uniform(0.08, 0.25) * size
    scale = long_side / max(source.shape[:2])
    w, h = max(4, round(source.shape[1] * scale)), max(4, round(source.shape[0] * scale))
    channels = [Image.fromarray(np.ascontiguousarray(source[..., c])).resize((w, h), Image.BILINEAR) for c in range(4)]
    sprite = np.dstack([np.asarray(c) for c in channels]).clip(0, 1)
    if rng.random() < 0.5:
        sprite = sprite[:, ::-1]
    sprite[..., :3] = (sprite[..., :3] * rng.uniform(0.75, 1.25)).clip(0, 1)
    return sprite


def _photo_scene(rng, size, split):
    canvas = _photo_background(rng, size)
    sources, taken, boxes = _photo_sources()[split], [], []
    for _ in range(int(rng.integers(1, 7))):
        cls = int(rng.integers(len(PHOTO_CLASSES)))
        options = sources[cls]
        sprite = _photo_object(rng, options[int(rng.integers(len(options)))], size)
        spot = _place(rng, taken, sprite.shape[1], sprite.shape[0], size)
        if spot:
            boxes.append((cls, *_paste(canvas, sprite, *spot)))
    return Image.fromarray((canvas * 255).round().astype(np.uint8)), boxes


# --- digit scenes -------------------------------------------------------------------------------------------------

def _paper(rng, size):
    """A paper-like page: a tinted gradient with grain, sometimes ruled, with a few stray pen strokes."""
    tint = rng.uniform(0.55, 1.0, 3)
    shade = np.linspace(rng.uniform(0.8, 1.0), rng.uniform(0.8, 1.0), size)[:, None, None]
    page = (tint * shade + rng.normal(0, 0.03, (size, size, 3))).clip(0, 1)
    image = Image.fromarray((np.broadcast_to(page, (size, size, 3)) * 255).astype(np.uint8))
    pen = ImageDraw.Draw(image)
    if rng.random() < 0.5:
        gap = int(rng.integers(12, 24))
        for y in range(int(rng.integers(0, gap)), size, gap):
            pen.line((0, y, size, y), fill=(140, 160, 200), width=1)
    for _ in range(int(rng.integers(0, 4))):
        points = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(3)]
        pen.line(points, fill=tuple(int(v) for v in rng.integers(0, 120, 3)), width=int(rng.integers(1, 3)))
    return image


def _glyph(rng, digit, height):
    """One digit as an alpha mask ``height`` pixels tall (before turning): its own size, stroke, slant and turn."""
    font = ImageFont.load_default(size=height)
    stroke = int(rng.integers(0, max(1, height // 12) + 1))
    left, top, right, bottom = font.getbbox(digit, stroke_width=stroke)
    mask = Image.new("L", (right - left + 4, bottom - top + 4))
    ImageDraw.Draw(mask).text((2 - left, 2 - top), digit, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    shear = rng.uniform(-0.3, 0.3)
    w, h = mask.size
    mask = mask.transform((w + int(abs(shear) * h), h), Image.AFFINE,
                          (1, shear, -abs(shear) * h if shear > 0 else 0, 0, 1, 0), Image.BILINEAR)
    return mask.rotate(rng.uniform(-15, 15), Image.BILINEAR, expand=True)


def _digit_scene(rng, size, split):
    page = _paper(rng, size)
    canvas = np.asarray(page, dtype=np.float32) / 255
    taken, boxes = [], []
    for _ in range(int(rng.integers(1, 7))):
        cls = int(rng.integers(len(DIGIT_CLASSES)))
        height = max(8, int(rng.uniform(0.1, 0.3) * size))  # a smaller glyph may blur below half coverage
        mask = np.asarray(_glyph(rng, DIGIT_CLASSES[cls], height), dtype=np.float32) / 255
        rows, cols = np.nonzero(mask >= 0.5)
        mask = mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        if max(mask.shape) > size:
            continue
        ink = rng.uniform(0, 0.35, 3).astype(np.float32)
        sprite = np.dstack([np.broadcast_to(ink, (*mask.shape, 3)), mask])
        spot = _place(rng, taken, mask.shape[1], mask.shape[0], size)
        if spot:
            boxes.append((cls, *_paste(canvas, sprite, *spot)))
    return Image.fromarray((canvas * 255).round().astype(np.uint8)), boxes


SCENES = {"photo": (PHOTO_CLASSES, _photo_scene), "digits": (DIGIT_CLASSES, _digit_scene)}
