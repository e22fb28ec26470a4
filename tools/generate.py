"""Write every generated file: the shipped model configs, the documentation's generated tables and the error list.

    python tools/generate.py           # rewrite what differs, and remove configs that nothing generates
    python tools/generate.py --check   # list what differs; exit status 1 if anything does

Sources: the package's tables (``yolo_repvit._repvit_variants.VARIANTS``, ``yolo_repvit._timm_families``),
what the installed timm reports about each family (the ``yolo-repvit backbones`` report), the data
beside this file (``tools/catalog.py``, ``tools/heads.py``), the cases of ``tests/test_errors.py`` and
the matrix's releases (``.ci/releases.toml``).  On a clean checkout it changes nothing; the tests check
each generated file against :func:`generated`.
"""

import argparse
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests")]

from catalog import REPVIT, REPVIT_CPU, REPVIT_CPU_OPTIONS, REPVIT_CPU_WIDTH, REPVIT_TOP1, SCALES, TIMM  # noqa: E402
from heads import HEADS  # noqa: E402
from yolo_repvit._configs import CONFIG_DIR  # noqa: E402
from yolo_repvit._repvit_variants import VARIANTS  # noqa: E402

HAND_WRITTEN = {"repvit-scratch.yaml"}  # training arguments, not a model: written from the learning study
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]  # where generated blocks may live
BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end: \2 -->)", re.S)
ERRORS = ROOT / "docs" / "errors.md"


# The shipped model configs -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Backbone:
    name: str  # the config name's backbone part, e.g. repvit, repvit-m0_9, convnext-imagenet
    kind: str  # RepViT or Timm
    row: str  # the YAML row, without its comment
    comment: str
    description: str  # "a RepViT backbone chosen per scale, at full width"
    scale_note: str  # what the scale letter picks
    heads: tuple  # the keys of heads.HEADS it ships with
    weights: str = "from scratch"  # what its row loads
    scales: str = SCALES  # the scales its row lists a backbone for


def _flow(mapping):
    """``mapping`` as a YAML flow mapping, as a row writes it: ``{n: repvit_m0_6, s: repvit_m0_9}``."""
    return "{" + ", ".join(f"{key}: {value}" for key, value in mapping.items()) + "}"


def _scale_note(family):
    return "Backbone per scale: " + ", ".join(f"{s} {m}" for s, m in zip(family.by_scale, _short(family.models))) + "."


def _short(models):
    """The models' names without what all of them share before the first and after the last differing part:
    repvit_m0_6 -> m0_6, vit_base_patch16_dinov3 -> base."""
    prefix = os.path.commonprefix(models).rpartition("_")[0]
    suffix = os.path.commonprefix([m[::-1] for m in models])[::-1].partition("_")[2]
    cut = (len(prefix) + 1) if prefix else 0
    return [m[cut:len(m) - len(suffix) - 1 if suffix else None] for m in models]


def backbones():
    """Every shipped backbone and the heads it ships with."""
    repvit, note = _flow(REPVIT.by_scale), _scale_note(REPVIT)
    found = [Backbone("repvit", "RepViT", f"[-1, 1, RepViT, [{repvit}, 1.0]]", "0-4 RepViT variant by scale, width 1.0",
                      "a RepViT backbone chosen per scale, at full width (ImageNet-compatible)", note, tuple(HEADS)),
             Backbone("repvit-imagenet", "RepViT", f"[-1, 1, RepViT, [{repvit}, 1.0, True]]",
                      "0-4 RepViT by scale, width 1.0, ImageNet weights",
                      "an ImageNet-pretrained RepViT backbone chosen per scale (weights fetched by timm, m0_6 from the "
                      "authors' release, or read from $YOLO_REPVIT_WEIGHTS)", note, ("detect",), "ImageNet"),
             _repvit_cpu()]
    for v in VARIANTS.values():
        short = v.name.removeprefix("repvit_")
        found.append(Backbone(f"repvit-{short}", "RepViT", f"[-1, 1, {v.name}, [1.0]]",
                              f"0-4 RepViT {short}, width 1.0",
                              f"a RepViT-M{short[1:].replace('_', '.')} backbone at full width (ImageNet-compatible)",
                              "The scale letter sizes the head only.", ("detect",)))
    for family in TIMM:
        models, note = _flow(family.by_scale), _scale_note(family)
        found.append(Backbone(family.config, "Timm", f"[-1, 1, Timm, [{models}]]", f"0-4 timm {family.name} by scale",
                              f"a timm {family.name} backbone chosen per scale, from scratch", note,
                              ("detect", "segment", "pose", "obb", "classify")))
        found.append(Backbone(f"{family.config}-{family.pretrained}", "Timm", f"[-1, 1, Timm, [{models}, True]]",
                              f"0-4 timm {family.name} by scale, {family.weights} weights",
                              f"a timm {family.name} backbone chosen per scale with {family.weights} weights "
                              "(fetched by timm, or read from $YOLO_REPVIT_WEIGHTS)", note, ("detect",),
                              family.weights))
    return found


def _repvit_cpu():
    """The RepViT config cut to YOLO11's CPU latency: the row's options reshape the variant of each scale."""
    picks = ", ".join(f"{s} {v.removeprefix('repvit_')}" for s, v in REPVIT_CPU.items())
    shape = f"width {REPVIT_CPU_WIDTH}, " + ", ".join(f"{k} {v}" for k, v in REPVIT_CPU_OPTIONS.items())
    row = f"[-1, 1, RepViT, [{_flow(REPVIT_CPU)}, {REPVIT_CPU_WIDTH}, False, {_flow(REPVIT_CPU_OPTIONS)}]]"
    return Backbone("repvit-cpu", "RepViT", row,
                    f"0-4 RepViT by scale, {shape}",
                    f"a RepViT backbone cut to YOLO11's CPU latency ({shape}), from scratch",
                    f"Backbone per scale: {picks}; {shape}.", ("detect",), scales="".join(REPVIT_CPU))


def config_name(backbone, head, scale=""):
    return f"{head.version}{scale}-{backbone.name}{head.suffix}.yaml"


def config_text(backbone, head):
    layer0 = "stem" if backbone.kind == "RepViT" else "timm's feature extractor"
    ends = backbone.scales[0], backbone.scales[-1]
    return (f"# yolo-repvit: {head.title} on {backbone.description}.\n"
            f"# Use as {' ... '.join(dict.fromkeys(config_name(backbone, head, s) for s in ends))}. "
            f"{backbone.scale_note}\n"
            "# Generated by tools/generate.py from the backbone tables; edit there.\n\n"
            f"{head.params}\nbackbone:\n"
            f"  # [from, repeats, module, args]; the {backbone.kind} row is layers 0-4: {layer0}, then stride "
            f"4/8/16/32 maps\n  - {backbone.row} # {backbone.comment}\n{head.rows}")


def model_configs():
    """``{file name in cfg/: text}`` of every generated model config."""
    return {config_name(b, HEADS[h]): config_text(b, HEADS[h]) for b in backbones() for h in b.heads}


# Generated blocks of README.md and docs/ -----------------------------------------------------------------------------

def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]) + "\n"


def variants_block():
    return table(("variant", "stage widths (x1.0)", "blocks per stage (timm)", "ImageNet top-1", "weights"),
                 [(f"`{v.name}`", "/".join(map(str, v.widths)), "/".join(map(str, v.depths)), REPVIT_TOP1[v.name],
                   "timm (HF hub)" if v.hub else "authors' release file") for v in VARIANTS.values()])


HEAD_LABELS = {"detect": "detect", "segment": "seg", "pose": "pose", "obb": "obb", "classify": "cls", "p2": "P2 detect",
               "v8": "YOLOv8 head", "yolo26": "YOLO26 head"}


def configs_block():
    """One row per shipped backbone; the per-variant RepViT configs, which differ only in the variant, in one row."""
    rows, variants = [], []
    for backbone in backbones():
        if not backbone.scale_note.startswith("Backbone per scale: "):
            variants.append(backbone.name.removeprefix("repvit-"))
            continue
        what = backbone.scale_note.removeprefix("Backbone per scale: ").rstrip(".")
        scales = backbone.scales if len(backbone.scales) == 1 else f"{{{','.join(backbone.scales)}}}"
        name = f"`yolo11{scales}-{backbone.name}.yaml`"
        rows.append((name, backbone.kind, what, backbone.weights, ", ".join(HEAD_LABELS[h] for h in backbone.heads)))
    rows.append((f"`yolo11{{n,s,m,l,x}}-repvit-{{{','.join(variants)}}}.yaml`", "RepViT",
                 "one variant at width 1.0 (the scale letter sizes the head only)", "from scratch", "detect"))
    return table(("config", "row", "backbone per scale", "weights", "tasks and heads"), rows)


def families_block():
    """What ``yolo-repvit backbones`` reports about each family, read from the installed timm."""
    from yolo_repvit._backbone_report import families

    rows = []
    for family, _, c in families():
        if c.ok:
            rows.append((family, f"`{c.name}`", "/".join(map(str, c.channels)),
                         "reparameterizes" if c.reparameterizes else "-", c.tags[0] if c.tags else "none in timm"))
        else:
            reason = "strides 16/32/64 only" if "strides" in c.refusal else "one fixed input size"
            rows.append((family, f"`{c.name}`", f"refused: {reason}", "", ""))
    return table(("family", "tested model", "channels at stride 4/8/16/32", "fuse()", "default weights"), rows)


def releases_block():
    """The compatibility matrix's releases and their pinned overlays (``.ci/matrix.py``)."""
    spec = importlib.util.spec_from_file_location("matrix", ROOT / ".ci" / "matrix.py")
    matrix = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(matrix)
    return matrix.releases_table()


BLOCKS = {"variants": variants_block, "configs": configs_block, "families": families_block,
          "releases": releases_block}


def with_blocks(text, rendered):
    return BLOCK.sub(lambda m: m.group(1) + rendered[m.group(2)] + m.group(4), text)


# docs/errors.md ------------------------------------------------------------------------------------------------------

PLACEHOLDERS = {"ultralytics": "<installed>", "timm": "<installed>", "cwd": "<working directory>", "path": "<file>"}


def errors_doc():
    """Every bad input of ``tests/test_errors.py`` and its message, as a table users can search."""
    from conftest import RECIPE
    from test_errors import CASES, WEIGHT_CASES, fill
    from yolo_repvit._rows import show_row

    lines = ["# Bad inputs and the errors they get", "",
             "Generated by `tools/generate.py` from the cases of `tests/test_errors.py`, which checks every message.",
             "All are `yolo_repvit.RepViTError` (a `ValueError`), raised while the model is built.", "",
             "## Model rows", "", "| input | model row / setting | message |", "|---|---|---|"]
    for what, d, message in CASES:
        rows = d["backbone"][:2] if what.startswith(("RepViT row that", "two RepViT")) else [d["backbone"][0]]
        shown = "<br>".join(f"`{show_row(row)}`" for row in rows)
        changed = [f"`{k}: {d[k]}`" for k in ("scale", "ch", "min_ultralytics") if k in d and k not in RECIPE]
        heads = [f"`{show_row(row)}`" for row, original in zip(d["head"], RECIPE["head"]) if row != original]
        lines.append(f"| {what} | {'<br>'.join([shown, *changed, *heads])} | {fill(message, **PLACEHOLDERS)} |")
    lines += ["", "## Weight files", "", "| file given as `pretrained` | message |", "|---|---|"]
    lines += [f"| {what} | {fill(message, **PLACEHOLDERS)} |" for what, _, _, message in WEIGHT_CASES]
    return "\n".join(lines) + "\n"


# All of it -----------------------------------------------------------------------------------------------------------

def generated():
    """``{path: text}`` of every generated file as the sources say it must be."""
    files = {CONFIG_DIR / name: text for name, text in model_configs().items()}
    docs = {path: path.read_text() for path in DOCS if path != ERRORS}
    used = {m.group(2) for text in docs.values() for m in BLOCK.finditer(text)}
    rendered = {name: BLOCKS[name]() for name in used}
    files.update({path: with_blocks(text, rendered) for path, text in docs.items() if BLOCK.search(text)})
    files[ERRORS] = errors_doc()
    return files


def stale_configs():
    """Files in cfg/ that nothing generates and nobody wrote by hand."""
    return sorted(set(p.name for p in CONFIG_DIR.glob("*.yaml")) - HAND_WRITTEN - set(model_configs()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list the files that differ")
    args = parser.parse_args(argv)
    differ = {path: text for path, text in generated().items() if not path.is_file() or path.read_text() != text}
    stale = [CONFIG_DIR / name for name in stale_configs()]
    for path in [*differ, *stale]:
        print(f"{'stale' if path in stale else 'differs'}: {path.relative_to(ROOT)}")
    if args.check:
        return int(bool(differ or stale))
    for path in stale:
        path.unlink()
    for path, text in differ.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
