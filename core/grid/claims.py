"""Seed problem 5's claims, in sentences computed from the measured numbers.

The seed answers "one advantage and one disadvantage of an MDRNN compared to a conv net" with
two qualitative claims: the MDRNN is more robust to input warping, and more vulnerable to
vanishing gradients, which LSTM cells relieve. Each sentence here is built from a result of
``core.grid.context`` (sensitivity and decay), ``core.grid.warptest`` (the warping test) or
``core.grid.depth`` (sequential steps against time), and each verdict follows from a stated
test with its uncertainty (``core.grid.stats``): where the interval does not exclude no
difference, the sentence says there is no clear difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.backend import Backend
from core.data import CLASSES
from core.grid import context, warptest
from core.grid.context import ForgetBiasSweep, ModelSensitivity, SensitivityConfig, SensitivityReport
from core.grid.depth import DepthTiming
from core.grid.stats import Difference, paired_difference
from core.grid.warptest import LEARNED, WarpTest, WarpTestConfig
from core.limits import ProgressFn, no_progress

CHANCE = 1.0 / CLASSES

DECAY_CALL = {"higher": "fades more slowly than the tanh MDRNN's", "lower": "fades faster than the tanh MDRNN's",
              "unclear": "shows no clear difference from the tanh MDRNN's"}


def _factor(d: Any) -> str:
    return f"×{d.mean:.3f} [{d.low:.3f}, {d.high:.3f}]"


def _difference(d: Difference) -> str:
    return f"difference {d.value:+.3f}, interval [{d.low:+.3f}, {d.high:+.3f}] over {d.n} initialisations"


def context_summary(m: dict[str, ModelSensitivity], G: int, i: int, j: int) -> list[str]:
    """What each model sees of the grid from output cell (i, j), and whether every map is non-zero
    exactly on its model's context (two sentences)."""
    lines = [
        f"Output cell ({i}, {j}) of a {G} x {G} grid: the one-direction MDRNN sees {m['mdrnn'].seen_cells} cells, "
        f"the quadrant above-left ({m['mdrnn'].context_cells} cells); with four directions it sees "
        f"{m['mdrnn4'].seen_cells} of {G * G}, the whole grid; the conv net sees {m['conv'].seen_cells}, its "
        f"{m['conv'].window} x {m['conv'].window} window clipped by the grid. Context from the whole grid needs "
        "the four directions: one sweep sees only what lies above-left.",
    ]
    broken = [v.label for v in m.values() if not v.matches_context]
    lines.append("Sensitivity does not match the expected context for: " + ", ".join(broken) +
                 " (an exactly-zero sensitivity inside the context, or a non-zero one outside)." if broken else
                 "Every map is non-zero exactly on the model's context and exactly zero elsewhere.")
    return lines


def sensitivity_summary(report: SensitivityReport, sweep: ForgetBiasSweep | None = None) -> list[str]:
    """What each model sees (:func:`context_summary`), how its sensitivity fades with distance,
    and what that says of the seed's vanishing-gradient claims, at the report's weight scale and
    forget bias."""
    m = report.models
    lines = context_summary(m, report.G, report.i_star, report.j_star)
    d, a = report.decay, report.against_tanh
    lines.append(
        f"Sensitivity per step of distance (exp of the least-squares slope of log S, mean over "
        f"{len(d['tanh'].factors)} random initialisations, 95% interval): tanh MDRNN {_factor(d['tanh'])}, "
        f"MDLSTM Graves {_factor(d['graves'])}, MDLSTM stable {_factor(d['stable'])}, conv net {_factor(d['conv'])} "
        f"(weight scale {report.scale:g}, forget-gate bias {report.forget_bias:g}).")
    if d["tanh"].low > 1:
        lines.append("The tanh MDRNN's sensitivity grows with distance at this weight scale: its gradients explode "
                     "rather than vanish. In two dimensions the number of paths between two cells grows like a "
                     "binomial coefficient, so a gain per step above 1 compounds.")
    elif d["tanh"].high < 1:
        lines.append("The tanh MDRNN's sensitivity vanishes with distance at this weight scale.")
    exploding = d["tanh"].low > 1
    verdicts = ({"higher": "it grows even faster", "lower": "it tames the growth (vanishing is not the issue at "
                 "this weight scale)", "unclear": "no clear difference"} if exploding else
                {"higher": "at these settings it relieves vanishing gradients",
                 "lower": "at these settings it does not relieve vanishing gradients: it makes them worse",
                 "unclear": "at these settings the seed's claim is neither supported nor refuted"})
    for cell, name in (("graves", "Graves' cell"), ("stable", "The stable cell")):
        call = a[cell].call
        lines.append(f"{name}'s sensitivity {DECAY_CALL[call]} ({_difference(a[cell])}): {verdicts[call]}.")
    conv = a["conv"]
    conv_call = {"higher": "fades more slowly per step than the tanh MDRNN's, as the seed says of conv nets",
                 "lower": "fades faster per step than the tanh MDRNN's, against the seed's comparison",
                 "unclear": "fades per step much as the tanh MDRNN's does"}[conv.call]
    lines.append(f"The conv net's sensitivity {conv_call} ({_difference(conv)}); beyond its "
                 f"{m['conv'].window} x {m['conv'].window} window it is exactly zero, whatever its weights.")
    if sweep is not None:
        rising = all(b > a_ for a_, b in zip(sweep.stable, sweep.stable[1:], strict=False))
        lines.append(
            "Over the forget-bias sweep (one initialisation) the stable cell's factor goes from "
            f"×{sweep.stable[0]:.3f} at bias {sweep.forget_bias[0]:g} to ×{sweep.stable[-1]:.3f} "
            f"at bias {sweep.forget_bias[-1]:g}"
            + (", rising with the bias: the forget gate carries the sensitivity further"
               if rising else ", not monotonically in the bias")
            + f"; the tanh MDRNN's is ×{sweep.tanh:.3f}.")
    cg, cs = report.cell_state_max["graves"], report.cell_state_max["stable"]
    lines.append(f"Largest |c| over the grid: Graves' cell {cg:.3g}, the stable cell {cs:.3g}. "
                 + ("Graves' two forget gates can add up to more than 1 per step, so c grows along the "
                    "diagonals; " if cg > 1 else "")
                 + "the stable cell's c is a convex combination of its neighbours' and a tanh, so |c| ≤ 1.")
    return lines


def _pct(p: float) -> str:
    return f"{100 * p:.1f}%"


def kept_share(correct: np.ndarray) -> np.ndarray:
    """The share of above-chance accuracy a model keeps under a warp, from its (..., n_test, levels)
    correctness: (mean accuracy over the warped strengths - chance) / (clean accuracy - chance).
    Raw points lost would favour a weaker model, which has fewer to lose."""
    acc = correct.mean(axis=-2)  # (..., levels)
    return (acc[..., 1:].mean(axis=-1) - CHANCE) / np.maximum(acc[..., 0] - CHANCE, 1e-9)


def warp_summary(result: WarpTest) -> list[str]:
    """Plain sentences computed from a warping test: for each warp, the share of its accuracy each
    grid RNN kept against the conv net's, compared digit by digit on the same test digits (paired
    bootstrap over the digits, 95% interval), and whether that supports the seed's claim that
    the grid RNN is more robust to warping than the conv net."""
    lines = [f"Training diverged: {msg}" for msg in result.diverged]
    models = {k: m for k, m in result.models.items() if not m.diverged}
    if "conv" not in models or not ({"mdrnn", "mdlstm"} & set(models)):
        lines.append("The claim compares a grid RNN with the conv net: train the conv net and at "
                     "least one grid RNN to test it.")
        return lines
    acc, n = result.accuracy, result.n_test
    clean = {k: acc["shear"][k][0] for k in models}
    lines.append("Clean test accuracy: " + ", ".join(f"{models[k].label} {_pct(clean[k])}" for k in models)
                 + f" ({n} test digits).")
    for k in models:
        if clean[k] < LEARNED:
            lines.append(f"The {models[k].label} is near chance ({_pct(clean[k])}, chance is 10%): it did "
                         "not learn the digits, so its robustness means nothing; train it longer.")
    if max(clean.values()) - min(clean.values()) > 0.05:
        lines.append(f"The clean accuracies differ by {100 * (max(clean.values()) - min(clean.values())):.1f} "
                     "points, so the verdicts compare the share of above-chance accuracy each model keeps, not the "
                     "points it loses (a weaker model has fewer to lose).")
    for kind, per in result.correct.items():
        amounts, unit = result.amounts[kind], result.units[kind]
        parts = []
        for key in ("mdrnn", "mdlstm"):
            if key not in models:
                continue
            if min(clean[key], clean["conv"]) < LEARNED:
                parts.append(f"no verdict for the {models[key].label}: it or the conv net is near chance")
                continue
            d = paired_difference(per[key].T, per["conv"].T, kept_share)  # rows: the same test digits for both
            verdict = {"higher": "supports the claim", "lower": "goes against the claim",
                       "unclear": "shows no clear difference"}[d.call]
            kept, kept_conv = float(kept_share(per[key].T)), float(kept_share(per["conv"].T))
            parts.append(f"the {models[key].label} kept {_pct(kept)} of its above-chance accuracy against the "
                         f"conv net's {_pct(kept_conv)}: this {verdict} (difference "
                         f"{100 * d.value:+.1f} points of share, 95% interval "
                         f"[{100 * d.low:+.1f}, {100 * d.high:+.1f}] over the {n} test digits)")
        lines.append(f"{kind.capitalize()} up to {amounts[-1]:g} {unit}, averaged over the warped strengths: "
                     + "; ".join(parts) + ".")
    lines.append("The interval covers which digits happen to be in the test set, compared digit by digit, not the "
                 "variation between training runs: this is one seed and one run per model, so rerun with other "
                 "seeds (--seed) before trusting a verdict.")
    return lines


@dataclass(frozen=True)
class SensitivityStudy:
    """The sensitivity report, the forget-bias sweep and the sentences they support."""

    report: SensitivityReport
    sweep: ForgetBiasSweep
    summary: list[str]


@dataclass(frozen=True)
class ContextStudy:
    """The maps of one initialisation and what they say of each model's context."""

    models: dict[str, ModelSensitivity]
    summary: list[str]


def context_study(cfg: SensitivityConfig, backend: Backend, seed: int = 0) -> ContextStudy:
    """What each model sees (``core.grid.context.context_models``) and its two sentences: the part
    of :func:`sensitivity_study` that needs one initialisation, not ``cfg.seeds``."""
    models = context.context_models(cfg, backend, seed=seed)
    return ContextStudy(models, context_summary(models, cfg.G, cfg.i_star, cfg.j_star))


def sensitivity_study(cfg: SensitivityConfig, backend: Backend, seed: int = 0) -> SensitivityStudy:
    """Maps, decay over ``cfg.seeds`` initialisations, the forget-bias sweep, and their summary."""
    report = context.sensitivity_report(cfg, backend, seed=seed)
    sweep = context.forget_bias_sweep(cfg, backend, seed=seed)
    return SensitivityStudy(report, sweep, sensitivity_summary(report, sweep))


@dataclass(frozen=True)
class WarpStudy:
    """The warping test and the sentences it supports."""

    result: WarpTest
    summary: list[str]


def warp_study(cfg: WarpTestConfig, backend: Backend, seed: int = 0, dtype: str = "float64",
               progress: ProgressFn = no_progress, budget_seconds: float | None = None) -> WarpStudy:
    """Train, test on warped digits (``core.grid.warptest.warp_test``), and say what it shows."""
    result = warptest.warp_test(cfg, backend, seed=seed, dtype=dtype, progress=progress,
                                budget_seconds=budget_seconds)
    return WarpStudy(result, warp_summary(result))


def depth_summary(t: DepthTiming) -> str:
    """The sequential-steps disadvantage, from the timings against G: who grows how fast, and
    whether each model's time follows its step count or its arithmetic."""
    G0, G1 = t.G[0], t.G[-1]
    m, c = t.slope["mdrnn"], t.slope["conv"]
    ratio = t.seconds["mdrnn"][-1] / t.seconds["conv"][-1]

    def follows(slope: float) -> str:  # steps grow like G (slope 1), multiply-adds like G² (slope 2)
        return "its step count" if slope < 1.5 else "its arithmetic"

    than = (f"{ratio:.2g} times as long as the conv net" if ratio >= 1 else
            f"{ratio:.2g} times the conv net's time (the faster of the two here)")
    return (f"From G = {G0} to {G1} the tanh MDRNN's forward time grew like G^{m:.2f}, closer to {follows(m)} "
            f"(its sequential steps, {t.steps['mdrnn'][0]} to {t.steps['mdrnn'][-1]}, grow like G; its "
            f"multiply-adds like G²); the conv net's grew like G^{c:.2f}, closer to {follows(c)} "
            f"({t.steps['conv'][0]} steps at every size; its multiply-adds grow like G²). At G = {G1} the MDRNN "
            f"took {than}, on this machine with one BLAS thread. Its 2G − 1 steps run one after another "
            "however many cores there are, while each of the conv net's L layers is one product that more "
            "cores (or a GPU) can share; one CPU thread shares nothing, so these timings cannot show that part.")
