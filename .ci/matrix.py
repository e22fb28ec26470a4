#!/usr/bin/env python3
"""The compatibility matrix: the core tests against each supported ultralytics release.

A release is not given its own virtual environment (minutes and gigabytes each, for torch alone).
It is a thin overlay over the current one: ``pip install --no-deps --target`` of that ultralytics
plus the few packages it needs that this environment lacks or has in an incompatible version.
The overlay goes first on PYTHONPATH, so its ultralytics shadows the installed one while torch,
timm and everything else are shared.  Subprocesses the tests start inherit the same path.

    python .ci/matrix.py                                # every release in RELEASES
    python .ci/matrix.py --versions 8.3.0,8.4.190       # a few (any release; see RELEASES)
    python .ci/matrix.py --src src                      # test this source tree, not the installed package
    python .ci/matrix.py --skip-installed               # CI: the full suite has just run on the installed one

Releases are tested two at a time (``--jobs``): a run is mostly single-threaded (interpreter
starts, imports, and ultralytics' CPU training, which uses one thread less than the cores).

Overlays are cached in ``<environment>/matrix`` (``--cache``), keyed by what they contain.  The
exit status is non-zero if any release fails.  This file is also the pytest plugin each run loads
(``-p matrix``): it ends the run at once unless the imported ultralytics is the release under test.
"""

import argparse
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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

# The releases tested, each with what its overlay adds to an environment made by
# ``pip install '.[test]'`` (the newest ultralytics and its requirements, cloudpickle, onnxscript).
# A release not listed here gets the packages of the nearest listed release below it.
RELEASES = {
    # The recipe's pin.  Requires numpy<2, so the compiled packages it loads must be numpy-1
    # builds (opencv-python 4.12+ and pandas 3 need numpy 2); pandas<3 also needs pytz.  Up to
    # 8.3.59 OpenVINO export calls openvino.runtime, which openvino 2026 removed.
    "8.3.0": ["numpy<2", "opencv-python<4.12", "pandas<3", "pytz", "scipy", "seaborn", "py-cpuinfo", "openvino<2026"],
    "8.3.59": ["pandas", "scipy", "seaborn", "py-cpuinfo", "openvino<2026"],  # first with TorchVision and Index layers
    "8.3.253": ["scipy"],  # the last 8.3 release; drops pandas and seaborn for polars
    "8.4.0": [],
    "8.4.139": [],  # the last whose multi-GPU workers rebuild the trainer from its arguments
    "8.4.140": [],  # multi-GPU workers unpickle the trainer, model and callbacks (with cloudpickle)
    "8.4.190": [],  # the newest
}


def release_key(version):
    return tuple(int(part) for part in version.split("."))


def overlay_requirements(version):
    known = [v for v in RELEASES if release_key(v) <= release_key(version)] or [min(RELEASES, key=release_key)]
    return [f"ultralytics=={version}", *RELEASES[max(known, key=release_key)]]


def build_overlay(version, cache):
    """The overlay directory for ``version``, installed unless cached; a failed install leaves nothing."""
    requirements = overlay_requirements(version)
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


def run_release(version, overlay, src):
    """Run CORE under ``overlay``; return (passed, counts text) and stream pytest's lines as they come."""
    path = [str(overlay), str(ROOT / ".ci"), *([str(src)] if src else []), os.environ.get("PYTHONPATH", "")]
    with tempfile.TemporaryDirectory(prefix=f"matrix-{version}-") as work:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path)), EXPECTED: version,
               "YOLO_CONFIG_DIR": work,  # each release gets its own settings file, not the user's
               # Upstream pip-installs a missing requirement with whatever pip is on PATH, which changes
               # the shared environment (even uninstalls from the overlay) mid-run: what a release
               # needs belongs in RELEASES instead.
               "YOLO_AUTOINSTALL": "false", "YOLO_OFFLINE": "true"}
        command = [sys.executable, "-m", "pytest", "-p", "matrix", "-p", "no:cacheprovider", "-q", "-rfEs",
                   "--disable-warnings", "-n", "0", f"--basetemp={work}/pytest", *CORE]
        with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, bufsize=1) as proc:
            last = ""
            for line in proc.stdout:
                print(f"[{version}] {line}", end="", flush=True)
                last = line if line.strip() else last
    counts = re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)", last)
    return proc.returncode == 0, ", ".join(f"{n} {what}" for n, what in counts) or "no test summary"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", default=",".join(RELEASES), help="comma-separated ultralytics releases")
    parser.add_argument("--src", type=Path, help="source tree to test instead of the installed package")
    parser.add_argument("--cache", type=Path, default=Path(sys.prefix) / "matrix", help="where overlays are kept")
    parser.add_argument("--jobs", type=int, default=2, help="releases tested at once")
    parser.add_argument("--skip-installed", action="store_true",
                        help="skip the release installed in this environment (the full suite covers it)")
    args = parser.parse_args(argv)
    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    if not all(re.fullmatch(r"\d+(\.\d+)*", v) for v in versions):
        parser.error(f"--versions takes releases such as 8.3.0,8.4.190, not {args.versions!r}")
    if args.jobs < 1:
        parser.error(f"--jobs takes a number of releases tested at once, 1 or more, not {args.jobs}")
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
        return passed, f"{version:<9} {'PASS' if passed else 'FAIL'} ({detail}) {time.time() - t0:.0f}s"

    started = time.time()
    # Overlays install one at a time, in order, while earlier releases are being tested.
    with ThreadPoolExecutor(max_workers=1) as installer, ThreadPoolExecutor(max_workers=args.jobs) as testers:
        overlays = {v: installer.submit(build_overlay, v, args.cache) for v in versions if v != installed}
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
