"""What a checkpoint records about its backbone, and what to do when the installed packages cannot load it.

Layer 0 of every backbone row carries a plain dict, :data:`RECORD`, saying what built it: the plugin and
timm versions, the row's kind, its timm model, and where its weights came from.  It is pickled with the
model, so every ``best.pt`` and ``last.pt`` holds it (``YOLO("best.pt").model.model[0].written_by``).

A checkpoint pickles timm's classes by name.  When the installed timm (or plugin) no longer has one,
unpickling stops with a bare "Can't get attribute".  :func:`why_unloadable` then reads the file again
with an unpickler that imports and calls nothing, so it is safe on any file, finds the names that do
not resolve and the record, and says which versions wrote the file and how to load it.
"""

import importlib
import io
import pickle
import zipfile

from ._release import __version__
from ._rows import REPVIT

RECORD = "written_by"
# The packages whose classes a backbone row puts in a checkpoint, and pip's names for them.
DISTRIBUTIONS = {"timm.": "timm", "yolo_repvit.": "yolo-repvit"}


def record(spec, weights, timm_version):
    """The record of a backbone row ``spec`` built with timm ``timm_version``; ``weights``: where its weights came
    from (None from scratch)."""
    return {"yolo_repvit": __version__, "timm": timm_version, "row": spec.kind, "model": spec.name,
            **({"width": spec.width, **spec.shape} if spec.kind == REPVIT else {}), "pretrained": spec.pretrained,
            "weights": weights}


def why_unloadable(path):
    """Why checkpoint ``path`` cannot load here, when it names classes of timm or the plugin that the installed
    ones lack: what wrote it and the fix.  None when every such name resolves, or the file is no torch archive."""
    try:
        root, names = _read_inert(path)
    except (OSError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError, ValueError, IndexError):
        return None
    missing = sorted(name for name in names if name.startswith(tuple(DISTRIBUTIONS)) and lookup(name) is None)
    if not missing:
        return None
    saved = root if isinstance(root, dict) else {}  # ultralytics' checkpoint dict: its version and date
    written = _find_record(root)
    packages = sorted({d for prefix, d in DISTRIBUTIONS.items() for name in missing if name.startswith(prefix)})
    lacking = " and ".join(f"the installed {package} {_installed(package)}" for package in packages)
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    with_ultralytics = f"ultralytics {saved.get('version', '(unknown version)')}"
    if written:
        weights = f"weights from {written['weights']}" if written["weights"] else "trained from scratch"
        width = f" at width {written['width']}" if "width" in written else ""
        wrote = (f"yolo-repvit {written['yolo_repvit']} with timm {written['timm']} and {with_ultralytics} "
                 f"({written['row']} row, {written['model']}{width}, {weights})")
        versions = {"timm": written["timm"], "yolo-repvit": written["yolo_repvit"]}
        install = f"install what wrote it (pip install {' '.join(f'{p}=={versions[p]}' for p in packages)})"
    else:
        wrote = (f"yolo-repvit 0.2.0 or older with {with_ultralytics} on {saved.get('date', 'an unknown date')}, "
                 "before checkpoints recorded the versions that wrote them")
        install = f"install the {' and '.join(packages)} of that time"
    return (f"{path} cannot be loaded: it names {missing[0]}{more}, which {lacking} does not have. It was written by "
            f"{wrote}. To load it, {install}; to use it without timm or the plugin, export it there once "
            f"(yolo export model={path} format=onnx) and deploy the exported file.")

class _Inert:
    """Stands for any object a pickle names: it keeps what the pickle gives it, and does nothing else.

    Unpickling may create it without calling ``__init__`` (``__reduce_ex__``'s ``__new__``), hence :attr:`parts`.
    """

    def __init__(self, *args, **kwargs):
        self.parts.extend([args, kwargs])

    @property
    def parts(self):
        return self.__dict__.setdefault("parts", [])

    def __setstate__(self, state):
        self.parts.append(state)

    def __setitem__(self, key, value):
        self.parts.append({key: value})

    def append(self, value):
        self.parts.append(value)

    def extend(self, values):
        self.parts.extend(values)


class _InertUnpickler(pickle.Unpickler):
    """Unpickles without importing or calling anything: each global becomes an :class:`_Inert`, tensors' data stays
    unread.  ``names`` collects every global the pickle names."""

    def __init__(self, file):
        super().__init__(file)
        self.names = set()

    def find_class(self, module, name):
        self.names.add(f"{module}.{name}")
        return type(name, (_Inert,), {})

    def persistent_load(self, pid):
        return None


def _read_inert(path):
    """The object tree of a ``torch.save`` archive, as :class:`_Inert` objects, and the globals it names."""
    with zipfile.ZipFile(path) as archive:
        pickled = next(name for name in archive.namelist() if name.endswith("/data.pkl") or name == "data.pkl")
        unpickler = _InertUnpickler(io.BytesIO(archive.read(pickled)))
        return unpickler.load(), unpickler.names


def lookup(qualified_name):
    """The class or function ``qualified_name`` (a pickle's module.name) of timm or the plugin, if the installed
    packages have it; else None.  Nothing outside those two packages is ever imported here."""
    if not qualified_name.startswith(tuple(DISTRIBUTIONS)):
        return None
    parts = qualified_name.split(".")
    for split in range(len(parts) - 1, 0, -1):  # the longest importable module, then attributes (nested classes)
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute, None)
        return obj
    return None


def _find_record(root):
    """The first :data:`RECORD` dict in the object tree ``root`` (breadth first: the model's layer 0 comes early)."""
    queue, seen = [root], set()
    while queue:
        obj = queue.pop(0)
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            found = obj.get(RECORD)
            if isinstance(found, dict) and "yolo_repvit" in found:
                return found
            queue.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            queue.extend(obj)
        elif isinstance(obj, _Inert):
            queue.extend(obj.parts)
    return None


def _installed(package):
    from importlib.metadata import PackageNotFoundError, version

    if package == "yolo-repvit":
        return __version__
    try:
        return version(package)
    except PackageNotFoundError:
        return "(not installed)"
