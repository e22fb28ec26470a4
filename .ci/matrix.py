#!/usr/bin/env python3
"""The compatibility matrix: the core tests against each supported ultralytics release.

A release is not given its own virtual environment (minutes and gigabytes each, for torch alone).
It is a thin overlay over the current one: ``pip install --no-deps --target`` of that ultralytics
plus exact pins of the few packages it needs that this environment lacks or has in an incompatible
version.  The releases, their loose requirements and the pins resolved from them are in
``.ci/releases.toml``.  The overlay goes first on PYTHONPATH, so its packages shadow the installed
ones while torch, timm and everything else are shared.  Subprocesses the tests start inherit the path.

    python .ci/matrix.py                                # every release in releases.toml
    python .ci/matrix.py --versions 8.3.0,8.4.190       # a few (any release; see releases.toml)
    python .ci/matrix.py --src src                      # test this source tree, not the installed package
    python .ci/matrix.py --skip-installed               # CI: the full suite has just run on the installed one
    python .ci/matrix.py --refresh --versions 8.3.0     # resolve new pins into releases.toml, then test

Before its tests, each release gets a fit check: every compiled package that requires numpy is
imported with the overlay's numpy, so a build for another numpy fails the release at once, by name,
rather than deep inside a test.

Releases are tested two at a time (``--jobs``): a run is mostly single-threaded (interpreter
starts, imports, and ultralytics' CPU training, which uses one thread less than the cores).

Overlays are cached in ``<environment>/matrix`` (``--cache``), keyed by what they contain.  The
exit status is non-zero if any release fails.  This file is also the pytest plugin each run loads
(``-p matrix``): it ends the run at once unless the imported ultralytics is the release under test.
"""

import argparse
import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = "YOLO_REPVIT_MATRIX_ULTRALYTICS"  # tells the plugin half which release the run is for

# The tests each release must pass: every upstream seam the plugin touches, at the least cost.
# Extend it here; pytest node ids, relative to the repository root.
CORE = [
    "tests/test_version_range.py::test_this_environment_is_supported",  # the release lies in the declared range
    "tests/test_activation.py::test_import_twice_and_reload_wrap_once",  # every patch applies
    "tests/test_activation.py::test_stock_yaml_builds_exactly_the_upstream_model",  # parse_model passes through
    "tests/test_build.py::test_every_variant_builds_in_recipe_format",  # every variant, recipe row format
    "tests/test_pretrained.py::test_weights_load_and_survive_model_construction[repvit_m0_6-timm]",  # BN kept
    "tests/test_training.py::test_recipe_yaml_trains_and_reloads_unchanged[-retyped]",  # 1 epoch, fresh reload
    "tests/test_fuse_export.py::test_fuse_removes_every_batchnorm_and_keeps_the_output[repvit_m0_6-0.5]",  # fuse
    "tests/test_fuse_export.py::test_predict_val_export_and_yolo_fuse_all_reparameterise",  # and TorchScript export
    "tests/test_fuse_export.py::test_export_reproduces_pytorch_in_a_process_without_the_plugin[onnx]",
    "tests/test_fuse_export.py::test_export_reproduces_pytorch_in_a_process_without_the_plugin[openvino]",
    "tests/test_fuse_export.py::test_safe_load_accepts_our_checkpoint_and_rejects_an_unregistered_class",
    "tests/test_checkpoints.py::test_checkpoint_naming_a_class_no_longer_installed_says_what_wrote_it[timm-hook]",
    "tests/test_checkpoints.py::test_checkpoint_naming_a_class_no_longer_installed_says_what_wrote_it[timm-restricted]",
    "tests/test_tasks.py::test_task_model_predicts_expected_shapes",  # segment, pose, OBB, classify, P2, v8 heads
    "tests/test_tasks.py::test_yolo26_config_builds_upstreams_end_to_end_head",  # from its min_ultralytics on
    "tests/test_cli_ddp.py::test_generated_ddp_script_builds_and_trains_with_the_hook_off",  # generate_ddp_file
    "tests/test_training.py::test_yolo_cli_trains_and_predicts_a_shipped_config_by_name",  # startup hook, check_yaml
    "tests/test_timm.py::test_family_builds_trains_fuses_exports_and_pickles_safely[FastViT]",  # a Timm row end to end
    "tests/test_timm.py::test_weights_load_strictly_and_survive_model_construction[mobilenetv4_conv_small-.pth]",
    "tests/test_timm.py::test_fused_layer_counts_as_fused_until_it_changes_again",  # is_fused(thresh) up to 8.4.x
    "tests/test_timm_pipeline.py::test_generated_ddp_script_builds_and_trains_with_the_hook_off[convnext]",
    "tests/test_scratch.py::test_yolo_command_takes_the_training_arguments_by_bare_name",  # cfg= before tasks exists
    "tests/test_scratch.py::test_auto_optimizer_on_a_short_scratch_run_says_what_it_chose_and_what_to_use",
]

RELEASES_FILE = ROOT / ".ci" / "releases.toml"  # the releases tested: why, loose requirements, exact pins
REFRESH = "python .ci/matrix.py --refresh --versions {}"


class Misfit(Exception):
    """An overlay whose compiled packages do not import with its numpy: the release fails before its tests."""


def releases():
    """``{release: {"why", "requires", "pins"}}`` from releases.toml, in its order (oldest first)."""
    with RELEASES_FILE.open("rb") as file:
        return tomllib.load(file)["releases"]


def release_key(version):
    return tuple(int(part) for part in version.split("."))


def listed_release(version):
    """The release of releases.toml whose pins ``version`` gets: itself, else the nearest listed below it."""
    listed = releases()
    known = [v for v in listed if release_key(v) <= release_key(version)] or [min(listed, key=release_key)]
    return max(known, key=release_key)


def overlay_requirements(version):
    return [f"ultralytics=={version}", *releases()[listed_release(version)]["pins"]]


def build_overlay(version, requirements, cache):
    """The overlay directory of ``requirements``, installed unless cached; a failed install leaves nothing.

    The directory is named by a digest of what it holds, so new pins make a new overlay.
    """
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:10]
    target = cache / f"ul-{version}-{digest}"
    if not target.is_dir():
        partial = cache / f"{target.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(partial), *requirements]
        done = subprocess.run(pip, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(pip)}\n{(done.stdout + done.stderr)[-2000:]}")
        partial.rename(target)
    return target


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def numpy_requirement(dist):
    """What ``dist`` requires of numpy here (``numpy>=2.0.0``), or None; optional extras do not count."""
    needs = [r for r in map(Requirement, dist.requires or ())
             if canonical(r.name) == "numpy" and (not r.marker or r.marker.evaluate({"extra": ""}))]
    return f"numpy{','.join(str(r.specifier) for r in needs if r.specifier)}" if needs else None


def top_level_modules(dist):
    """The names ``dist`` installs for import: its top_level.txt, else the packages and modules its files make."""
    listed = dist.read_text("top_level.txt")
    if listed:
        return listed.split()
    names = set()
    for file in dist.files or ():
        top = file.parts[0]
        if len(file.parts) > 1 and top.isidentifier() and top != "__pycache__":
            names.add(top)
        elif len(file.parts) == 1 and top.endswith((".py", ".so", ".pyd")) and top.split(".")[0].isidentifier():
            names.add(top.split(".")[0])
    return sorted(names)


def import_failure(error, printed):
    """Why an import failed: the errors printed while it ran (first sentence each), then the innermost raised."""
    while error.__cause__ or error.__context__:
        error = error.__cause__ or error.__context__
    reasons = [line.split(". ")[0] for line in printed.splitlines() if re.match(r"\w+(Error|Exception): ", line)]
    return "; ".join([*reasons, f"{type(error).__name__}: {error}"])


def report_imports(overlay):
    """Import each compiled package that requires numpy, as this process finds it; print the outcome as JSON.

    The fit check's half that runs under the overlay's PYTHONPATH.  A package's own modules hold
    its compiled code, and a build for another numpy fails as they load: that is the failure to
    catch.  A line on stderr before each import names the package should the import kill the process.
    """
    found = {}
    for dist in importlib.metadata.distributions():  # in sys.path order: the first of a name is the one imported
        found.setdefault(canonical(dist.metadata["Name"]), dist)

    def described(dist):
        where = "overlay" if Path(dist.locate_file("")).resolve() == Path(overlay).resolve() else "environment"
        return f"{dist.metadata['Name']} {dist.version} (from the {where})"

    checked, failures = [], []
    for _, dist in sorted(found.items()):
        need = numpy_requirement(dist)
        if not need or not any(str(f).endswith((".so", ".pyd")) for f in dist.files or ()):
            continue
        print(f"importing {described(dist)}", file=sys.stderr, flush=True)
        checked.append(described(dist))
        printed = io.StringIO()  # compiled modules print numpy's reason (C-API version) rather than raise it
        try:
            with contextlib.redirect_stderr(printed):
                for module in top_level_modules(dist):
                    importlib.import_module(module)
        except Exception as error:  # noqa: BLE001  whatever stops the import is the misfit reported
            failures.append(f"{described(dist)}, which requires {need}: {import_failure(error, printed.getvalue())}")
    print(json.dumps({"numpy": described(found["numpy"]), "checked": checked, "failures": failures}))


def check_fit(version, overlay, env):
    """Raise Misfit, naming the packages and the fix, unless every compiled numpy dependent imports under ``env``.

    Run before the tests: a build for another numpy would otherwise fail deep inside one of them.
    """
    t0 = time.time()
    command = [sys.executable, "-c", f"import matrix; matrix.report_imports({str(overlay)!r})"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    listed = listed_release(version)
    fix = (f"Fix: pin builds that fit in .ci/releases.toml: add each package named above to the requires of {listed} "
           f"(with an upper bound where its metadata allows a build that does not fit), then run: "
           f"{REFRESH.format(listed)}")
    if done.returncode:
        started = re.findall(r"^importing (.*)$", done.stderr, re.MULTILINE)
        raise Misfit(f"fit check: the process died (exit status {done.returncode}) importing "
                     f"{started[-1] if started else 'nothing yet'}\n{done.stderr[-2000:]}\n{fix}")
    report = json.loads(done.stdout.splitlines()[-1])
    if report["failures"]:
        raise Misfit("\n".join([f"fit check FAILED: {len(report['failures'])} of {len(report['checked'])} compiled "
                                f"packages that require numpy do not import with {report['numpy']}:",
                                *(f"  {failure}" for failure in report["failures"]), fix]))
    print(f"[{version}] fit check passed: {len(report['checked'])} compiled packages that require numpy import with "
          f"{report['numpy']} ({time.time() - t0:.0f}s)", flush=True)


def release_env(version, overlay, src, work):
    """The environment a release's processes run in: the overlay first on PYTHONPATH, settings in ``work``."""
    path = [str(overlay), str(ROOT / ".ci"), *([str(src)] if src else []), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path)), EXPECTED: version,
            "YOLO_CONFIG_DIR": work,  # each release gets its own settings file, not the user's
            # Upstream pip-installs a missing requirement with whatever pip is on PATH, which changes
            # the shared environment (even uninstalls from the overlay) mid-run: what a release
            # needs belongs in releases.toml instead.
            "YOLO_AUTOINSTALL": "false", "YOLO_OFFLINE": "true"}


def run_release(version, overlay, src):
    """Check the overlay's fit, then run CORE under it; return (passed, counts text), streaming pytest's lines."""
    with tempfile.TemporaryDirectory(prefix=f"matrix-{version}-") as work:
        env = release_env(version, overlay, src, work)
        check_fit(version, overlay, env)
        # The core tests use no Ray Tune, and the Ray Tune callback of some 8.3.x releases calls what the ray of the
        # test extra no longer has (ray.train._internal.session._get_session): every training run would fail there.
        subprocess.run([sys.executable, "-c", "from ultralytics import settings; settings.update(raytune=False)"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        command = [sys.executable, "-m", "pytest", "-p", "matrix", "-p", "no:cacheprovider", "-q", "-rfEs",
                   "--disable-warnings", "-n", "0", "--all", f"--basetemp={work}/pytest", *CORE]
        with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, bufsize=1) as proc:
            last = ""
            for line in proc.stdout:
                print(f"[{version}] {line}", end="", flush=True)
                last = line if line.strip() else last
    counts = re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)", last)
    return proc.returncode == 0, ", ".join(f"{n} {what}" for n, what in counts) or "no test summary"


def resolve(version, requires):
    """``requires`` as exact pins (``name==version``, in their order), as pip resolves them for ``version``.

    pip resolves them with ``ultralytics==<version>`` and this environment's torch.  Not with its numpy
    where the release has none of its own: upper bounds on numpy are often stricter than the builds,
    and under them pip reaches back to builds older than numpy 2 (openvino<2026 gives 2024.0 under
    numpy 2.4).  The fit check and the tests are what confirm the pins against this environment.
    """
    with tempfile.TemporaryDirectory(prefix="matrix-refresh-") as work:
        constraints, report = Path(work, "constraints.txt"), Path(work, "report.json")
        constraints.write_text(f"torch=={importlib.metadata.version('torch').split('+')[0]}\n")
        pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report",
               str(report), "--constraint", str(constraints), f"ultralytics=={version}", *requires]
        done = subprocess.run(pip, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(pip)}\n{(done.stdout + done.stderr)[-2000:]}")
        chosen = {canonical(i["metadata"]["name"]): i["metadata"] for i in json.loads(report.read_text())["install"]}
    return [f"{chosen[n]['name']}=={chosen[n]['version']}" for n in (canonical(Requirement(r).name) for r in requires)]


def write_pins(text, version, pins):
    """releases.toml's ``text`` with the pins of ``version`` replaced; the rest, comments included, as it was."""
    section = re.search(rf'^\[releases\."{re.escape(version)}"\]\n(?:(?!\[).*\n)*', text, re.MULTILINE)
    array = "pins = [" + "".join(f'\n    "{pin}",' for pin in pins) + ("\n]" if pins else "]")
    body = re.sub(r"^pins = \[[^\]]*\]", lambda _: array, section.group(), count=1, flags=re.MULTILINE)
    return text[:section.start()] + body + text[section.end():]


def refresh(versions):
    """Resolve the requires of each of ``versions`` into pins and write them into releases.toml."""
    text = RELEASES_FILE.read_text()
    for version in versions:
        requires = releases()[version]["requires"]
        pins = resolve(version, requires) if requires else []
        text = write_pins(text, version, pins)
        if tomllib.loads(text)["releases"][version]["pins"] != pins:
            raise RuntimeError(f"could not rewrite the pins of {version} in {RELEASES_FILE}: a comment inside them?")
        print(f"[{version}] pins: {' '.join(pins) or 'none'}", flush=True)
    RELEASES_FILE.write_text(text)


def releases_table():
    """The Markdown table of releases.toml that docs/compatibility.md holds between its ``releases`` markers."""
    rows = [f"| {version} | {release['why']} | {', '.join(f'`{pin}`' for pin in release['pins']) or '-'} |"
            for version, release in releases().items()]
    return "\n".join(["| release | why it is in the matrix | what its overlay pins |", "|---|---|---|", *rows]) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", default=",".join(releases()), help="comma-separated ultralytics releases")
    parser.add_argument("--src", type=Path, help="source tree to test instead of the installed package")
    parser.add_argument("--cache", type=Path, default=Path(sys.prefix) / "matrix", help="where overlays are kept")
    parser.add_argument("--jobs", type=int, default=2, help="releases tested at once")
    parser.add_argument("--skip-installed", action="store_true",
                        help="skip the release installed in this environment (the full suite covers it)")
    parser.add_argument("--refresh", action="store_true",
                        help="first resolve the releases' requires into new pins in .ci/releases.toml")
    args = parser.parse_args(argv)
    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    if not all(re.fullmatch(r"\d+(\.\d+)*", v) for v in versions):
        parser.error(f"--versions takes releases such as 8.3.0,8.4.190, not {args.versions!r}")
    if args.jobs < 1:
        parser.error(f"--jobs takes a number of releases tested at once, 1 or more, not {args.jobs}")
    if args.refresh and set(versions) - set(releases()):
        parser.error(f"--refresh takes releases listed in {RELEASES_FILE.name}, not {args.versions!r}")
    if args.refresh:
        try:
            refresh(versions)
        except RuntimeError as error:
            print(f"refresh failed: {error}", flush=True)
            return 1
    args.cache.mkdir(parents=True, exist_ok=True)
    src = args.src.resolve() if args.src else None
    installed = importlib.metadata.version("ultralytics") if args.skip_installed else None

    def test(version, overlay):
        if version == installed:
            return True, f"{version:<9} SKIP (installed here: the full test suite covers it)"
        t0 = time.time()
        print(f"[{version}] overlay: {' '.join(overlay_requirements(version))}", flush=True)
        try:
            passed, detail = run_release(version, overlay.result(), src)
        except RuntimeError as error:
            print(f"[{version}] overlay install failed: {error}", flush=True)
            passed, detail = False, "overlay install failed"
        except Misfit as error:
            print("".join(f"[{version}] {line}\n" for line in str(error).splitlines()), end="", flush=True)
            passed, detail = False, "its compiled packages do not fit its numpy: see the fit check"
        return passed, f"{version:<9} {'PASS' if passed else 'FAIL'} ({detail}) {time.time() - t0:.0f}s"

    started = time.time()
    # Overlays install one at a time, in order, while earlier releases are being tested.
    with ThreadPoolExecutor(max_workers=1) as installer, ThreadPoolExecutor(max_workers=args.jobs) as testers:
        overlays = {v: installer.submit(build_overlay, v, overlay_requirements(v), args.cache)
                    for v in versions if v != installed}
        results = list(testers.map(test, versions, [overlays.get(v) for v in versions]))
    print(f"\nultralytics compatibility matrix, {len(versions)} releases in {time.time() - started:.0f}s")
    print("\n".join(line for _, line in results))
    return 0 if all(passed for passed, _ in results) else 1


def pytest_sessionstart():
    """Fail the run before any test if the overlay does not shadow the environment's ultralytics."""
    import pytest
    import ultralytics

    expected = os.environ.get(EXPECTED)
    if expected and ultralytics.__version__ != expected:
        pytest.exit(f"matrix: expected ultralytics {expected}, imported {ultralytics.__version__} from "
                    f"{ultralytics.__file__}", returncode=3)


if __name__ == "__main__":
    sys.exit(main())
