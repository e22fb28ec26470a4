"""Timing on a shared, noisy machine: every measurement taken beside the reference's, fastest runs kept.

Other work on the machine only ever adds time to a run, so the figure kept for a probe is its
fastest run, the one least disturbed.  To make ratios fair, every run of a model's probe is taken
right beside a run of the same probe of the reference model (which of the two goes first
alternates from round to round), and a model's ratio is its fastest run over the fastest of the
reference runs taken beside it: both sides were sampled equally often, in the same spells.
Models take their turns in a new random order each round.
"""

import gc
import random
import sys
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Probe:
    """One thing to time: ``run()`` does ``units`` of work (inference calls, or training images)."""

    run: Callable[[], object]
    units: int = 1

    def seconds(self):
        """Seconds per unit of one ``run()``."""
        tick = time.perf_counter()
        self.run()
        return (time.perf_counter() - tick) / self.units


@dataclass(frozen=True)
class Timing:
    seconds: float  # fastest run, seconds per unit
    ratio: float  # that over the fastest of the reference's runs taken beside this model's


def race(probes, rounds, reference, warmup=1, seed=0):
    """Time ``probes[model][metric]`` against ``probes[reference][metric]``; ``{model: {metric: Timing}}``.

    ``rounds[model]`` is how many paired measurements a model gets, so slow models can take
    fewer; the reference has every metric any model has.  Every probe first runs ``warmup``
    times untimed (lazy initialisation, allocator growth).
    """
    base = probes[reference]
    for _ in range(warmup):
        for metrics in probes.values():
            for probe in metrics.values():
                probe.run()
    times = {model: {metric: [] for metric in metrics} for model, metrics in probes.items()}
    beside = {model: {metric: [] for metric in metrics} for model, metrics in probes.items()}  # reference's runs
    rng = random.Random(seed)
    started = time.perf_counter()
    total = max(rounds[model] for model in probes if model != reference)
    for r in range(total):
        order = [model for model in probes if model != reference and r < rounds[model]]
        rng.shuffle(order)
        gc.collect()
        for model in order:
            for metric, probe in probes[model].items():
                if r % 2:
                    ours, theirs = probe.seconds(), base[metric].seconds()
                else:
                    theirs, ours = base[metric].seconds(), probe.seconds()
                times[model][metric].append(ours)
                times[reference][metric].append(theirs)
                beside[model][metric].append(theirs)
        print(f"[timing] round {r + 1}/{total} done ({len(order)} models, {time.perf_counter() - started:.0f} s)",
              file=sys.stderr, flush=True)
    beside[reference] = times[reference]
    return {model: {metric: Timing(min(t), min(t) / min(beside[model][metric])) for metric, t in metrics.items()}
            for model, metrics in times.items()}
