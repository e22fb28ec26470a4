"""Every file path and Python name that the documentation, docstrings and comments mention exists.

A rename leaves prose behind: a README that points at a moved benchmark, a docstring naming a
function that is gone, a comment citing a test that never existed.  Each text the project ships or
keeps beside its code is scanned for

* repository paths: ``src/...``, ``tests/...``, ``benchmarks/...``, ``docs/...``, ``cfg/...``,
  ``examples/...`` and ``.ci/...`` (a pytest node id also needs its test function), and in
  Markdown, link targets and file names in backticks;
* dotted names rooted in ``yolo_repvit``, ``_yolo_repvit_autoload``, ``ultralytics``, ``timm`` or
  ``torch``, checked by importing the longest importable prefix and looking the rest up on it.

Each scanned file is one test, whose failure lists all its broken references with their lines.
"""

import itertools
import json
import re
import subprocess
import textwrap
from functools import cache
from pathlib import Path

import pytest

from conftest import run_python

ROOT = Path(__file__).resolve().parents[1]
TOP = ("src", "tests", "benchmarks", "docs", "cfg", "examples", ".ci")
PYTHON_ROOTS = ("yolo_repvit", "_yolo_repvit_autoload", "ultralytics", "timm", "torch")
FILE_TYPES = ("py", "md", "toml", "png", "yaml", "yml", "pth", "start")  # suffixes that make a word a file name

# References that are right not to resolve, each with why.  Keep them short: a broken name belongs fixed.
NOT_FILES = {
    "benchmarks/results/cuda.md": "what `report.py --device 0` writes; no CUDA run is committed yet",
}
NOT_IMPORTABLE = {}

PLACEHOLDER = r"\{[^{}\s]*\}|<[^<>\s]*>"  # {a,b}, {x} or <x> in a path written as a pattern
PATH = re.compile(
    r"(?<![\w./-])((?:" + "|".join(re.escape(t) for t in TOP) + rf")/(?:[\w.*/-]|{PLACEHOLDER})*)"
    rf"(::(?:[\w:]|{PLACEHOLDER})+)?"  # a pytest node id's test
)
DOTTED = re.compile(r"(?<![\w.])(?:" + "|".join(PYTHON_ROOTS) + r")(?:\.\w+)+")
LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")  # Markdown
DOC_SPAN = re.compile(r"``([^`\n]+)``")  # reStructuredText, in docstrings and comments
FILE_NAME = re.compile(r"[\w.{}<>,-]+\.(?:" + "|".join(FILE_TYPES) + ")")
SCALED_CONFIG = re.compile(r"(yolo(?:v?\d+))(?:[nslmx]|\{[^{}]*\}|<[^<>]*>)(-.*)")  # yolo11n-repvit.yaml


def scanned_files():
    """The texts checked: Markdown documentation, pyproject.toml, and every Python and YAML file kept in git."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md",
             ROOT / "pyproject.toml"]
    files += [ROOT / p for p in sorted(repository_files())
              if p.split("/")[0] in TOP and p.endswith((".py", ".yaml"))]
    return [f for f in files if f.is_file()]


@cache
def repository_files():
    """Paths (relative, with ``/``) of the files a clean checkout has: git's tracked and unignored files.

    Falls back to walking the tree where there is no git checkout (an unpacked sdist).
    """
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        listed = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*")
                  if p.is_file() and not {".git", "__pycache__"} & set(p.parts)]
    return frozenset(p for p in listed if p and (ROOT / p).is_file())  # not files deleted since the last commit


@cache
def repository_paths():
    """Every file and folder of :func:`repository_files`."""
    paths = set()
    for p in repository_files():
        parts = p.split("/")
        paths.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return frozenset(paths)


@cache
def upstream_files():
    """Paths of the installed ultralytics package's files, relative to it (``utils/dist.py``)."""
    import ultralytics

    package = Path(ultralytics.__file__).parent
    return frozenset(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file())


def alternatives(pattern):
    """Glob patterns for a path written with placeholders: ``{a,b}`` is both, ``{x}`` and ``<x>`` any text."""
    pieces = re.split(r"(\{[^{}]*\}|<[^<>]*>)", pattern)
    choices = [[p] if not p.startswith(("{", "<")) else p[1:-1].split(",") if "," in p else ["*"] for p in pieces]
    return ["".join(c) for c in itertools.product(*choices)]


def exists(pattern, candidates):
    """Whether every alternative of ``pattern`` names at least one of ``candidates``."""
    return all(any(re.fullmatch(glob_regex(alt), c) for c in candidates) if "*" in alt else alt in candidates
               for alt in alternatives(pattern))


def glob_regex(glob):
    return "".join("[^/]*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", glob))


def line_of(text, index):
    return text.count("\n", 0, index) + 1


def path_problems(text):
    """Repository paths (``tests/test_errors.py``) that name nothing, with a pytest node id's test."""
    for match in PATH.finditer(text):
        path, node = match.group(1).rstrip("./-"), match.group(2)
        if path in NOT_FILES:
            continue
        if not exists(path, repository_paths()):
            yield line_of(text, match.start()), f"no such file or folder: {path}"
        elif node and (ROOT / path).is_file():
            test, source = node.split("::")[-1], (ROOT / path).read_text()
            for name in alternatives(test):
                name = r"\w*".join(re.escape(part) for part in name.split("*"))
                if not re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{name}\b", source, re.MULTILINE):
                    yield line_of(text, match.start()), f"{path} has no {test}"


def markdown_problems(text, folder):
    """Link targets and file names in backticks of a Markdown file in ``folder`` that name nothing."""
    for match in LINK.finditer(text):
        target = match.group(1).split("#")[0]
        if folder == ROOT and target.split("/")[0] in TOP:
            continue  # from the top level, a repository path: checked as one
        if target and not re.match(r"[a-z]+:", target) and not (folder / target).resolve().exists():
            yield line_of(text, match.start()), f"link to a missing file: {target}"
    yield from file_name_problems(text, folder, CODE_SPAN)


def file_name_problems(text, folder, spans):
    """File names in ``spans`` (Markdown's `x` or a docstring's ``x``) of a text in ``folder`` that name nothing.

    One word: a command such as `python benchmarks/report.py` is checked as the path it holds.
    """
    here = folder.relative_to(ROOT).as_posix() if folder.is_relative_to(ROOT) and folder != ROOT else ""
    for match in spans.finditer(text):
        word = match.group(1).strip()
        if FILE_NAME.fullmatch(word.split("/")[-1]) and word.split("/")[0] not in TOP and " " not in word:
            problem = file_name_problem(word, here)
            if problem:
                yield line_of(text, match.start()), problem


def file_name_problem(word, here):
    """Why a file name written in backticks (``_timing.py``, ``yolo11n-repvit.yaml``) names nothing.

    A config of the plugin's (one naming a backbone family of ``cfg/``) with a scale letter names
    the scale-free file, as ultralytics resolves it; other configs (``coco8.yaml``, ``yolo11n.yaml``,
    ``data.yaml``) and checkpoints are upstream's or the user's and are not checked.  Other files
    are looked for beside the text, at the top level, in the package, and in ultralytics (``nn/tasks.py``).
    """
    suffix = word.rsplit(".", 1)[-1]
    if suffix in ("pth", "start") and not word.startswith("yolo_repvit"):
        return None  # checkpoints, such as the RepViT authors' repvit_m0_9_distill_450e.pth
    if suffix in ("yaml", "yml"):
        if not any(family in word.lower() for family in backbone_families()):
            return None
        word = word.rsplit("/", 1)[-1]  # found by name wherever it lies
        scaled = SCALED_CONFIG.fullmatch(word)
        name = "".join(scaled.groups()) if scaled else word
        if exists(name, {p.rsplit("/", 1)[-1] for p in repository_files()}):
            return None
        return f"no file named {name}" + (f" (the scale-free name of {word})" if scaled else "")
    folders = {here, "", *TOP, "src/yolo_repvit", "benchmarks/results", "tests/data"}
    if any(exists(f"{folder}/{word}".lstrip("/"), repository_paths()) for folder in folders):
        return None
    if exists(word, upstream_files()) or any(p.endswith("/" + word) for p in upstream_files()):
        return None
    return f"no file {word} beside this text, at the top level, in the package or in ultralytics"


@cache
def backbone_families():
    """The backbone families the shipped configs are named for: ``repvit`` of ``cfg/yolo11-repvit-m0_9.yaml``."""
    names = (p.rsplit("/", 1)[-1] for p in repository_files() if p.startswith("cfg/"))
    return frozenset(m.group(1).lower() for m in map(re.compile(r"yolo(?:v?\d+)-([a-zA-Z]\w*)").match, names) if m)


def dotted_names(text):
    """``(line, name)`` for each dotted Python name rooted in one of :data:`PYTHON_ROOTS`."""
    for match in DOTTED.finditer(text):
        name = match.group(0)
        if name.rsplit(".", 1)[-1] not in FILE_TYPES:  # _yolo_repvit_autoload.py is a file name
            yield line_of(text, match.start()), name


RESOLVE = """
    import importlib, importlib.util, json, sys

    def missing(name):
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            module_name = ".".join(parts[:i])
            if "__main__" in parts[:i]:  # never run a program to look at it: find it, no more
                program = ".".join(parts[:parts.index("__main__") + 1])
                return None if importlib.util.find_spec(program) else f"no module {program}"
            try:
                found = importlib.import_module(module_name)
            except ModuleNotFoundError as error:
                if error.name and (module_name + ".").startswith(error.name + "."):
                    continue  # not a module: look the rest up on a shorter prefix
                return None  # it exists, but needs something not installed here
            except Exception:  # noqa: BLE001  it exists, but fails to import here: other tests report that
                return None
            for depth, attribute in enumerate(parts[i:], start=i + 1):
                if not hasattr(found, attribute):
                    return f"{'.'.join(parts[:depth - 1])} has no attribute {attribute}"
                found = getattr(found, attribute)
            return None
        return f"no module {parts[0]}"
"""


def unresolvable(names):
    """``{name: why}`` for each of the dotted ``names`` that does not resolve, looked up in one new process.

    A new process so that importing whatever the texts mention (torch.onnx, ultralytics' exporters, ...)
    does not change this one; with the plugin activated, as a user's process would be.
    """
    code = textwrap.dedent(RESOLVE) + f"print(json.dumps({{n: missing(n) for n in {sorted(names)!r}}}))\n"
    out = run_python(code, timeout=600)
    return {name: why for name, why in json.loads(out.splitlines()[-1]).items() if why}


@pytest.fixture(scope="module")
def unresolved():
    """The dotted names of every scanned file that do not resolve, with why."""
    return unresolvable({name for f in scanned_files() for _, name in dotted_names(f.read_text())}
                        - set(NOT_IMPORTABLE))


@pytest.mark.parametrize("path", scanned_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_references_name_what_exists(path, unresolved):
    text = path.read_text()
    problems = list(path_problems(text))
    if path.suffix == ".md":
        problems += markdown_problems(text, path.parent)
    elif path.suffix == ".py":
        problems += file_name_problems(text, path.parent, DOC_SPAN)
    problems += [(line, unresolved[name]) for line, name in dotted_names(text) if name in unresolved]
    where = path.relative_to(ROOT).as_posix()
    assert not problems, f"{len(problems)} broken reference(s):\n" + "\n".join(
        f"{where}:{line}: {why}" for line, why in sorted(set(problems)))


def test_the_scan_reports_what_is_broken_and_passes_what_is_not():
    # The broken names are spelled with a {placeholder}: where this file is itself scanned, a
    # placeholder reads as "any text", so they do not count against it.
    gone = "nothing"
    page = "\n".join([  # as if at the top level, like README.md
        "See tests/test_references.py, docs/ and `.ci/matrix.py`; run `python tests/test_autoload.py`.",  # 1: fine
        "tests/test_references.py::test_the_scan_reports_what_is_broken_and_passes_what_is_not",  # 2: fine
        "`yolo11n-repvit.yaml`, `yolo11s-repvit-m0_9.yaml`, `coco8.yaml`, `best.pt`, `utils/dist.py`",  # 3: fine
        "`tasks.py`, `pyproject.toml`, `conftest.py`, [README](https://example.com/README.md)",  # 4: fine
        f"tests/test_{gone}.py and src/yolo_repvit/{gone}.py",  # 5: two missing files
        f"tests/test_references.py::test_{gone}",  # 6: a missing test
        f"`yolo11n-repvit-{gone}.yaml` and `_{gone}.py`, [the guide](docs/{gone}.md)",  # 7: three missing
    ])
    problems = sorted(path_problems(page)) + sorted(markdown_problems(page, ROOT))
    assert [line for line, _ in problems] == [5, 5, 6, 7, 7, 7], problems
    in_docs = f"[errors](errors.md), [readme](../README.md#install), [guide]({gone}.md), `{gone}.md`"
    assert [why for _, why in markdown_problems(in_docs, ROOT / "docs")] == [
        f"link to a missing file: {gone}.md",
        f"no file {gone}.md beside this text, at the top level, in the package or in ultralytics",
    ]
    names = "`_yolo_repvit_autoload.py` has _yolo_repvit_autoload.when_imported(name); see pytorch.org, torch.nn."
    assert [name for _, name in dotted_names(names)] == ["_yolo_repvit_autoload.when_imported", "torch.nn"]
    real = ["yolo_repvit.activate", "torch.nn.Module.forward", "ultralytics.nn.tasks.parse_model"]
    broken = [f"yolo_repvit.{gone}", f"torch.nn.{gone.title()}", f"timm.{gone}.deeper"]
    assert unresolvable(real + broken) == {
        broken[0]: f"yolo_repvit has no attribute {gone}",
        broken[1]: f"torch.nn has no attribute {gone.title()}",
        broken[2]: f"timm has no attribute {gone}",
    }


QUOTE = re.compile(r"<!-- numbers from (\S+) -->(.*?)<!-- end of numbers -->", re.S)
FIGURE = re.compile(r"\d\.\d{3} ± \d\.\d{3}|\d+\.\d+x|\d\.\d{3}")  # mean ± std, a ratio, a score


def quoting_docs():
    return [p for p in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"] if QUOTE.search(p.read_text())]


@pytest.mark.parametrize("doc", quoting_docs(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_figures_quoted_from_results_are_the_published_ones(doc):
    """A doc that quotes a results table between ``<!-- numbers from FILE -->`` and ``<!-- end of numbers -->``
    quotes only figures that FILE publishes: rerunning a benchmark cannot leave stale copies behind."""
    for source, block in QUOTE.findall(doc.read_text()):
        quoted = FIGURE.findall(block)
        published = (ROOT / source).read_text()
        assert len(quoted) >= 4, (source, block)
        assert [q for q in quoted if q not in published] == [], source
