"""Reading and checking the backbone row of a model YAML (no torch, no timm).

A backbone row is the first row of ``backbone:`` and stands for layer indices 0-4, whose
layers 1-4 give the stride 4/8/16/32 feature maps.  Two kinds of rows, one grammar each::

    - [-1, 1, repvit_m0_9, [0.5]]                                   # RepViT: [width, pretrained]
    - [-1, 1, RepViT, [{n: repvit_m0_6, s: repvit_m0_9}, 1.0, True]]  # RepViT, variant chosen per scale
    - [-1, 1, RepViT, [{n: repvit_m0_6}, 0.75, False, {depth: 0.5, act: relu}]]  # RepViT with options
    - [-1, 1, Timm, [convnext_atto, True, {drop_path_rate: 0.1}]]     # any timm model: [name, pretrained, kwargs]
    - [-1, 1, Timm, [vit_small_patch16_dinov3.lvd1689m, True, {lr_scale: 0.1, freeze_epochs: 2}]]  # fine-tuning

The last mapping may hold the row's fine-tuning controls (:data:`TUNING`): for a Timm row they sit
beside the timm arguments; for a RepViT row it is a third argument, which may also reshape the
backbone (:data:`SHAPE`: its depth factor and activation).

A row becomes a :class:`BackboneSpec`; which layers a spec becomes is ``_build``'s business.
"""

import ast
from dataclasses import dataclass, field, fields

from ._errors import RepViTError
from ._repvit_variants import VARIANTS, check_act, check_depth, check_variant, check_width
from ._weights import is_weight_path

REPVIT = "RepViT"
TIMM = "Timm"
LAYERS = 5  # YAML layer indices one backbone row occupies
STRIDES = (4, 8, 16, 32)  # of the maps at layers 1-4 (layer 0 works at stride 4 too)
# timm.create_model arguments the row itself decides; a Timm row's kwargs may not set them.
ROW_DECIDES = {"features_only": "the row always builds timm's feature extractor",
               "out_indices": "layers 1-4 are always the stride 4/8/16/32 maps",
               "pretrained": "give it as the row's second argument",
               "pretrained_cfg_overlay": "give a weight file as the row's second argument",
               "checkpoint_path": "give a weight file as the row's second argument",
               "in_chans": "the model YAML's ch: sets it",
               "num_classes": "the detector has its own head"}

# The row's fine-tuning controls: what each does to the parameters of the (pretrained) timm model.
TUNING = {"lr_scale": "multiplies their learning rate (e.g. 0.1; the feature pyramid and head keep the full rate)",
          "freeze_epochs": "holds them (no gradient, statistics frozen) for the first N epochs"}
# What a RepViT row's mapping may change in the backbone it builds, besides TUNING, and the check of each: the
# factor multiplying the blocks of every stage, and the activation of every block.
SHAPE = {"depth": check_depth, "act": check_act}


def row_kind(module):
    """``"RepViT"``, ``"Timm"`` or None for a row's module name (misspelt RepViT names count as RepViT)."""
    if not isinstance(module, str):
        return None
    if module.lower() == TIMM.lower():
        return TIMM
    return REPVIT if module.lower().replace("-", "_").startswith("repvit") else None


@dataclass(frozen=True)
class BackboneSpec:
    """What to build for one backbone row."""

    kind: str  # REPVIT or TIMM
    name: str  # a RepViT variant, or a timm model name without its tag
    pretrained: object = False  # False, True (the default weights), a weight tag, or a file path
    width: float = 1.0  # RepViT rows only: width and SHAPE
    depth: float = 1.0
    act: str = "gelu"
    tag: str = None  # Timm rows: the tag written in the model name (convnext_atto.d2_in1k)
    kwargs: dict = field(default_factory=dict)  # Timm rows: extra timm.create_model arguments
    in_channels: int = 3
    lr_scale: float = 1.0  # TUNING
    freeze_epochs: int = 0

    @property
    def shape(self):
        """The :data:`SHAPE` options that differ from RepViT's own blocks, e.g. ``{"act": "relu"}``."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name in SHAPE and getattr(self, f.name) != f.default}

    @property
    def weight_tag(self):
        """The tag ``pretrained`` asks for: None for no weights or a file, the row's tag or None for True."""
        if self.pretrained is True:
            return self.tag
        return None if self.pretrained is False or is_weight_path(self.pretrained) else self.pretrained


def parse_row(row, scale=None, in_channels=3):
    """Turn a YAML row ``[from, repeats, module, args]`` into a :class:`BackboneSpec`."""
    where = f"model row {show_row(row)}"
    if not isinstance(row, (list, tuple)) or len(row) != 4:
        raise RepViTError(f"{where}: a row needs four fields [from, repeats, module, args], e.g. "
                          "[-1, 1, repvit_m0_9, [1.0]].")
    frm, repeats, module, args = row
    kind = row_kind(module) or REPVIT
    if frm != -1:
        raise RepViTError(f"{where}: 'from' is {frm!r}, but a {kind} row reads the input image; use -1.")
    if repeats != 1:
        raise RepViTError(f"{where}: repeats is {repeats!r}, but a {kind} row is built once; use 1 "
                          f"(choose a deeper {'variant' if kind == REPVIT else 'model'} instead).")
    if not isinstance(in_channels, int) or in_channels < 1:
        raise RepViTError(f"{where}: input channels (ch) is {in_channels!r}; it must be a positive integer.")
    args = [literal(a) for a in (args if isinstance(args, (list, tuple)) else [args])]
    parse = _parse_timm if kind == TIMM else _parse_repvit
    return parse(module, args, scale, in_channels, where)


def _parse_repvit(module, args, scale, in_channels, where):
    if module == REPVIT:
        if not args:
            raise RepViTError(f"{where}: {REPVIT} needs the variant as first argument, e.g. "
                              f"[-1, 1, {REPVIT}, [repvit_m0_9]]. Valid variants: {', '.join(VARIANTS)}.")
        chosen, *args = args
        module = for_scale(chosen, scale, where, "RepViT variant")
    variant = check_variant(module, where)
    if len(args) > 3:
        raise RepViTError(f"{where}: {len(args)} arguments given; a RepViT row takes at most three, "
                          "[width, pretrained, options], e.g. [1.0, True, {lr_scale: 0.1}].")
    width = check_width(args[0], where) if args else 1.0
    pretrained = check_pretrained(args[1], where) if len(args) > 1 else False
    options = args[2] if len(args) > 2 else {}
    if not isinstance(options, dict):
        raise RepViTError(f"{where}: the third argument is {options!r}; it must be a mapping of options "
                          f"({', '.join([*SHAPE, *TUNING])}), e.g. {{lr_scale: 0.1}}.")
    unknown = [k for k in options if k not in {**SHAPE, **TUNING}]
    if unknown:
        raise RepViTError(f"{where}: unknown option {unknown[0]!r}; a RepViT row's mapping takes "
                          f"{', '.join([*SHAPE, *TUNING])}.")
    shape = {key: check(options[key], where) for key, check in SHAPE.items() if key in options}
    return BackboneSpec(REPVIT, variant, pretrained, width=width, in_channels=in_channels, **shape,
                        **tuning(options, where))


def _parse_timm(module, args, scale, in_channels, where):
    example = f"[-1, 1, {TIMM}, [mobilenetv4_conv_small, True]]"
    if not args:
        raise RepViTError(f"{where}: {TIMM} needs a timm model name as first argument, e.g. {example}.")
    if len(args) > 3:
        raise RepViTError(f"{where}: {len(args)} arguments given; a {TIMM} row takes at most three, [model name, "
                          "pretrained, timm arguments], e.g. [convnext_atto, True, {drop_path_rate: 0.1}].")
    chosen = for_scale(args[0], scale, where, "timm model")
    if not isinstance(chosen, str) or not chosen.strip():
        raise RepViTError(f"{where}: the timm model name is {chosen!r}; give a name such as mobilenetv4_conv_small "
                          f"(optionally with a weight tag: convnext_atto.d2_in1k), e.g. {example}.")
    name, _, tag = chosen.strip().partition(".")
    if row_kind(name) == REPVIT:
        raise RepViTError(f"{where}: {name} is a RepViT model, which has its own row with RepViT's variants, widths "
                          f"and weight files: write [-1, 1, {name}, [1.0{', True' if len(args) > 1 else ''}]] "
                          f"instead of a {TIMM} row.")
    pretrained = check_pretrained(args[1], where) if len(args) > 1 else False
    if tag and isinstance(pretrained, str) and not is_weight_path(pretrained) and pretrained != tag:
        raise RepViTError(f"{where}: the model name carries weight tag {tag!r} but pretrained asks for {pretrained!r}; "
                          f"give the tag once: [{name}.{tag}, True] or [{name}, {pretrained}].")
    kwargs = args[2] if len(args) > 2 else {}
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise RepViTError(f"{where}: the third argument is {kwargs!r}; it must be a mapping of timm.create_model "
                          "arguments, e.g. {drop_path_rate: 0.1}.")
    for key in kwargs:
        if key in ROW_DECIDES:
            raise RepViTError(f"{where}: timm argument {key!r} cannot be set in a {TIMM} row: {ROW_DECIDES[key]}.")
    controls = tuning({k: v for k, v in kwargs.items() if k in TUNING}, where)
    timm_kwargs = {k: v for k, v in kwargs.items() if k not in TUNING}
    return BackboneSpec(TIMM, name, pretrained, tag=tag or None, kwargs=timm_kwargs, in_channels=in_channels,
                        **controls)


def tuning(options, where):
    """The fine-tuning controls of a row's mapping, checked: ``lr_scale`` above 0, ``freeze_epochs`` from 0."""
    found = {}
    if "lr_scale" in options:
        value = options["lr_scale"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise RepViTError(f"{where}: lr_scale is {value!r}; it must be a number above 0 (1.0 trains the backbone "
                              "at the head's rate, 0.1 at a tenth). To hold the backbone, use freeze_epochs or "
                              "ultralytics' freeze=5.")
        found["lr_scale"] = float(value)
    if "freeze_epochs" in options:
        value = options["freeze_epochs"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RepViTError(f"{where}: freeze_epochs is {value!r}; it must be a whole number of epochs, 0 or more, "
                              "during which the backbone is held.")
        found["freeze_epochs"] = value
    return found


def check_pretrained(value, where):
    if isinstance(value, bool) or (isinstance(value, str) and value.strip()):
        return value.strip() if isinstance(value, str) else value
    raise RepViTError(f"{where}: pretrained is {value!r}; use False, True (the default ImageNet weights), "
                      "a weight tag such as dist_450e_in1k, or a path to a .pth/.safetensors file.")


def for_scale(chosen, scale, where, what):
    """The entry of a per-scale mapping (``{n: ..., s: ...}``) for this model's scale; any other value as it is."""
    if not isinstance(chosen, dict):
        return chosen
    if not scale:
        scale = next(iter(chosen), None)
    if scale not in chosen:
        raise RepViTError(f"{where}: no {what} listed for scale {scale!r}; this row lists scales "
                          f"{', '.join(map(str, chosen))}. Add '{scale}: <{what.split()[-1]}>' to the mapping or pick "
                          "a listed scale by the file name (e.g. yolo11s-...yaml).")
    return chosen[scale]


def literal(value):
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
    """The :class:`BackboneSpec` of a model dict, or None when it has no backbone row of ours.

    Besides the row itself this checks its place in the graph: first row of ``backbone:``, only
    one, and no later row reading layer 0 (the recipe calls it unused; a Timm row's layer 0 holds
    all four maps at once).
    """
    rows = list(d.get("backbone") or []) + list(d.get("head") or [])
    found = [i for i, row in enumerate(rows) if isinstance(row, (list, tuple)) and len(row) > 2 and row_kind(row[2])]
    if not found:
        return None
    kind = row_kind(rows[found[0]][2])
    if found != [0]:
        first, *more = found
        bad = more[0] if first == 0 else first
        raise RepViTError(f"model row {show_row(rows[bad])} (YAML row {bad}): a {kind} row must be the first row of "
                          f"'backbone:' and appear once; it stands for layers 0-{LAYERS - 1}. Remove the extra row or "
                          "move it to the top.")
    scale = d.get("scale") or next(iter(d.get("scales") or {}), None)
    spec = parse_row(rows[0], scale, in_channels)
    layer0 = "the RepViT stem" if kind == REPVIT else f"the {TIMM} backbone itself (all four maps at once)"
    for i, row in enumerate(rows[1:], start=LAYERS):
        sources = row[0] if isinstance(row, (list, tuple)) and isinstance(row[0], (list, tuple)) else [row[0]]
        for source in sources:
            if isinstance(source, bool) or not isinstance(source, int) or not -i <= source < i:
                raise RepViTError(f"model row {show_row(row)} (layer {i}): 'from' {source!r} is not an earlier layer; "
                                  f"use an index from 1 to {i - 1}, or -1 for the previous layer.")
            if (source if source >= 0 else i + source) == 0:
                raise RepViTError(f"model row {show_row(row)} (layer {i}): reads layer 0, {layer0}. Layers 1-4 "
                                  "are the stride 4/8/16/32 feature maps; point 'from' at one of those (e.g. 2 for "
                                  "P3/8, 3 for P4/16, 4 for P5/32).")
    return spec
