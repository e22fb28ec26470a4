"""Reading and checking a RepViT row of a model YAML (no torch, no timm).

Two row forms are accepted, both the first row of ``backbone:`` and both occupying layer
indices 0-4 (stem, then the stride 4/8/16/32 stage outputs)::

    - [-1, 1, repvit_m0_9, [0.5]]            # the recipe: variant as module, [width, pretrained]
    - [-1, 1, RepViT, [{n: repvit_m0_6, s: repvit_m0_9}, 1.0, False]]  # variant chosen per scale
"""

import ast
import difflib
import math
from dataclasses import dataclass

from .errors import RepViTError
from .variants import STRIDES, VARIANTS, scaled_widths

GENERIC = "RepViT"
WIDTH_RANGE = (0.1, 4.0)
LAYERS = len(STRIDES)  # YAML layer indices one RepViT row occupies


def is_repvit_name(name):
    """True for our module names and for anything a user plausibly meant as one (``repvit_m0.9``)."""
    return isinstance(name, str) and name.lower().replace("-", "_").startswith("repvit")


@dataclass(frozen=True)
class BackboneSpec:
    """What to build for one RepViT row."""

    variant: str
    width: float = 1.0
    pretrained: object = False  # False, True (timm's default tag), a tag name, or a file path
    in_channels: int = 3

    @property
    def channels(self):
        """Output channels of layers 0-4: the stem, then each stage."""
        widths = scaled_widths(self.variant, self.width)
        return (widths[0], *widths)


def parse_row(row, scale=None, in_channels=3):
    """Turn a YAML row ``[from, repeats, module, args]`` into a :class:`BackboneSpec`."""
    where = f"model row {show_row(row)}"
    if not isinstance(row, (list, tuple)) or len(row) != 4:
        raise RepViTError(f"{where}: a row needs four fields [from, repeats, module, args], e.g. "
                          "[-1, 1, repvit_m0_9, [1.0]].")
    frm, repeats, module, args = row
    if frm != -1:
        raise RepViTError(f"{where}: 'from' is {frm!r}, but a RepViT row reads the input image; use -1.")
    if repeats != 1:
        raise RepViTError(f"{where}: repeats is {repeats!r}, but a RepViT row is built once; use 1 "
                          "(choose a deeper variant instead).")
    if not isinstance(args, (list, tuple)):
        args = [args]
    args = [_literal(a) for a in args]
    if module == GENERIC:
        if not args:
            raise RepViTError(f"{where}: {GENERIC} needs the variant as first argument, e.g. "
                              f"[-1, 1, {GENERIC}, [repvit_m0_9]]. Valid variants: {', '.join(VARIANTS)}.")
        chosen, *args = args
        module = _variant_for_scale(chosen, scale, where)
    variant = check_variant(module, where)
    if len(args) > 2:
        raise RepViTError(f"{where}: {len(args)} arguments given; a RepViT row takes at most two, "
                          "[width, pretrained], e.g. [1.0, True].")
    width = check_width(args[0], where) if args else 1.0
    pretrained = check_pretrained(args[1], where) if len(args) > 1 else False
    if not isinstance(in_channels, int) or in_channels < 1:
        raise RepViTError(f"{where}: input channels (ch) is {in_channels!r}; it must be a positive integer.")
    return BackboneSpec(variant, width, pretrained, in_channels)


def check_variant(name, where="RepViT"):
    if name in VARIANTS:
        return name
    normal = str(name).lower().replace(".", "_").replace("-", "_")
    close = [normal] if normal in VARIANTS else difflib.get_close_matches(normal, list(VARIANTS), n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise RepViTError(f"{where}: unknown RepViT variant {name!r}.{hint} Valid variants: {', '.join(VARIANTS)}.")


def check_width(value, where="RepViT"):
    low, high = WIDTH_RANGE
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or not low <= number <= high:
        raise RepViTError(f"{where}: width factor {value!r} is not a number from {low} to {high}. It scales "
                          "every stage width (0.25, 0.5, 1.0, 1.5 in the recipe); ImageNet weights need 1.0.")
    return float(number)


def check_pretrained(value, where="RepViT"):
    if isinstance(value, bool) or (isinstance(value, str) and value.strip()):
        return value.strip() if isinstance(value, str) else value
    raise RepViTError(f"{where}: pretrained is {value!r}; use False, True (timm's default ImageNet weights), "
                      "a weight tag such as dist_450e_in1k, or a path to a .pth/.safetensors file.")


def _variant_for_scale(chosen, scale, where):
    if not isinstance(chosen, dict):
        return chosen
    if not scale:
        scale = next(iter(chosen), None)
    if scale not in chosen:
        raise RepViTError(f"{where}: no RepViT variant listed for scale {scale!r}; this row lists scales "
                          f"{', '.join(map(str, chosen))}. Add '{scale}: <variant>' to the mapping or pick a listed "
                          "scale by the file name (e.g. yolo11s-...yaml).")
    return chosen[scale]


def _literal(value):
    """Read a string argument the way ultralytics does, but never crash on one that is not Python."""
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return value


def show_row(row):
    return "[" + ", ".join(map(str, row)) + "]" if isinstance(row, (list, tuple)) else repr(row)


def backbone_spec(d, in_channels=3):
    """The :class:`BackboneSpec` of a model dict, or None when it has no RepViT row.

    Besides the row itself this checks its place in the graph: first row of ``backbone:``, only
    one, and no later row reading layer 0 (the stem, which the recipe calls unused).
    """
    rows = list(d.get("backbone") or []) + list(d.get("head") or [])
    found = [i for i, row in enumerate(rows) if isinstance(row, (list, tuple)) and len(row) > 2
             and is_repvit_name(row[2])]
    if not found:
        return None
    if found != [0]:
        first, *more = found
        bad = more[0] if first == 0 else first
        raise RepViTError(f"model row {show_row(rows[bad])} (YAML row {bad}): a RepViT row must be the first row of "
                          f"'backbone:' and appear once; it stands for layers 0-{LAYERS - 1}. Remove the extra row or "
                          "move it to the top.")
    scale = d.get("scale") or next(iter(d.get("scales") or {}), None)
    spec = parse_row(rows[0], scale, in_channels)
    for i, row in enumerate(rows[1:], start=LAYERS):
        sources = row[0] if isinstance(row, (list, tuple)) and isinstance(row[0], (list, tuple)) else [row[0]]
        for source in sources:
            if isinstance(source, bool) or not isinstance(source, int) or not -i <= source < i:
                raise RepViTError(f"model row {show_row(row)} (layer {i}): 'from' {source!r} is not an earlier layer; "
                                  f"use an index from 1 to {i - 1}, or -1 for the previous layer.")
            if (source if source >= 0 else i + source) == 0:
                raise RepViTError(f"model row {show_row(row)} (layer {i}): reads layer 0, the RepViT stem. Layers 1-4 "
                                  "are the stride 4/8/16/32 feature maps; point 'from' at one of those (e.g. 2 for "
                                  "P3/8, 3 for P4/16, 4 for P5/32).")
    return spec
