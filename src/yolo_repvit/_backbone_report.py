"""The ``yolo-repvit backbones`` report: a backbone built from scratch and asked what it is.

Nothing is downloaded: each name is built as the row ``[-1, 1, Timm, [name]]`` (or its RepViT
row) with random weights, and the layers report their strides, channels and whether ``fuse()``
has anything to reparameterize.  The weight tags are what timm lists, without fetching any.
"""

import fnmatch
from dataclasses import dataclass

from . import _timm
from ._build import build_layers
from ._errors import RepViTError
from ._repvit_variants import VARIANTS
from ._rows import REPVIT, TIMM, parse_row, row_kind
from ._timm_families import FAMILIES, REFUSED
from ._versions import import_timm


@dataclass(frozen=True)
class Check:
    name: str
    row: str  # the row that builds it
    channels: tuple = ()  # of the stride 4/8/16/32 maps
    reparameterizes: bool = False  # whether fuse() merges training-time branches (else it changes nothing)
    tags: tuple = ()  # weight tags (ImageNet, or DINO's), the default first
    refusal: str = ""  # why it cannot be a backbone row, if it cannot
    patch: int = 0  # a plain ViT's patch size: its maps come from the feature pyramid

    @property
    def ok(self):
        return not self.refusal


def check(name):
    """Build ``name`` as a backbone row, from scratch, and report what it is or why it is refused."""
    if row_kind(name) == REPVIT:
        args, tags = [-1, 1, name, [1.0]], VARIANTS[name].tags if name in VARIANTS else ()
        row = f"[-1, 1, {name}, [1.0]]"
    else:
        args, tags = [-1, 1, TIMM, [name]], tuple(_timm.tags(import_timm(), name.partition(".")[0]))
        row = f"[-1, 1, {TIMM}, [{name}]]"
    try:
        layers, _ = build_layers(parse_row(args))
    except RepViTError as error:
        return Check(name, row, tags=tags, refusal=str(error))
    return Check(name, row, tuple(layer.out_channels for layer in layers[1:]),
                 not all(layer.fused for layer in layers), tags, patch=getattr(layers[0], "patch", 0))


def families():
    """``(family, number of its models in the installed timm, check of its tested model)`` for every family."""
    timm = import_timm()
    found = [("RepViT, its own row", None, check("repvit_m0_6"))]
    for family in FAMILIES + REFUSED:
        found.append((family.name, len(fnmatch.filter(timm.list_models(), family.pattern)), check(family.tested)))
    return found


def table(checks):
    """Plain-text lines for the terminal: a heading per check, then the row to write and what it gives, or why not."""
    lines = []
    for label, count, c in checks:
        about = ", ".join(filter(None, [label, f"{count} models in timm" if count is not None else ""]))
        lines.append(f"{c.name}" + (f" ({about})" if about else ""))
        if c.ok:
            fuse = "fuse() reparameterizes it" if c.reparameterizes else "nothing for fuse() to reparameterize"
            weights = f"weight tags: {', '.join(c.tags)}" if c.tags else "no weights in timm"
            pyramid = f" (a feature pyramid on the ViT's patch-{c.patch} map)" if c.patch else ""
            lines += [f"  row: {c.row}", f"  strides 4/8/16/32{pyramid}, channels {'/'.join(map(str, c.channels))}; "
                      f"{fuse}; {weights}"]
        else:
            lines.append(f"  refused: {c.refusal}")
    return lines
