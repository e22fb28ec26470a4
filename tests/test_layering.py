"""The package's modules form layers: each imports only modules listed before it (here), never one above.

So there is no import cycle, and a reader can learn the package from the bottom up.  Imports inside
functions count too: they only delay an import, they do not change who depends on whom.
"""

import ast
from pathlib import Path

import yolo_repvit

PACKAGE = Path(yolo_repvit.__file__).parent
LAYERS = [
    "_errors", "_release", "_versions",  # the standard library and packaging only
    "_repvit_variants", "_timm_families", "_weights", "_rows",  # plain data, weight files, the row grammar: no torch
    "_onnx",  # the ONNX translation of the resize plain ViTs' position embeddings use
    "modules",  # the layer classes checkpoints hold
    "_checkpoints",  # what a checkpoint records of its backbone, read back without unpickling its classes
    "_timm", "_repvit",  # a row as timm builds it; what a RepViT row does its own way
    "_build",  # a spec becomes layers 0-4, for either kind
    "_backbone_report", "_configs", "_data",  # what the command line and the docs report
    "_ultralytics",  # every touch of ultralytics
    "__init__",  # the public surface
    # yolo-repvit compare, which trains, exports and times models as a user would (with the plugin activated):
    "_runs", "_exports", "_latency", "_compare_report", "_ray_runs", "_compare",
    "_cli",  # the yolo-repvit command, which activates the plugin as a user would
]


def imported_siblings(path):
    """The package modules ``path`` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("yolo_repvit"):
            found |= {node.module.partition(".")[2] or "__init__"} if node.module != "yolo_repvit" else {"__init__"}
        elif isinstance(node, ast.Import):
            found |= {a.name.partition(".")[2] or "__init__" for a in node.names
                      if a.name.partition(".")[0] == "yolo_repvit"}
    return found


def test_every_module_is_in_a_layer():
    assert sorted(p.stem for p in PACKAGE.glob("*.py")) == sorted(LAYERS)


def test_each_module_imports_only_modules_below_it():
    upward = {module: sorted(imported_siblings(PACKAGE / f"{module}.py") - set(LAYERS[:i]))
              for i, module in enumerate(LAYERS)}
    assert {module: names for module, names in upward.items() if names} == {}
