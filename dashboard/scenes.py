"""Scenes: named one-click settings of a page that show one idea each, in the seed's order.

A scene is data: the page it belongs to, the link values it sets (every other setting of that
page goes back to its default), and its claim in words. The pages offer their scenes as buttons,
the home page lists all of them as a lecture plan (seed problems 1 to 7), every scene is also a
link (``<page>?scene=<key>``), and ``tests/dashboard/test_scenes.py`` opens each one and checks
its claim against the page's own numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Scene:
    key: str  # the link's value: ?scene=<key>
    name: str  # the button's label
    page: str  # url_path of its page (dashboard.site.PAGES)
    problem: int  # the seed problem it teaches (the lecture plan's order)
    claim: str  # what it shows, in words; the tests hold the page's numbers to it
    query: Mapping[str, str] = field(default_factory=dict)  # the link values it sets

    def __post_init__(self) -> None:
        object.__setattr__(self, "query", MappingProxyType(dict(self.query)))


SCENES: tuple[Scene, ...] = (
    Scene("eq1-incomplete", "The seed's eq (1) is incomplete", "lstm", 1,
          "Eq (1) as the seed writes it never adds the loss's own term ∂L/∂h(t): it is marked incomplete, "
          "and the seed's recursion run end to end gives w̄_ix = 0 exactly, while the hand BPTT does not.",
          {"lstm_tab": "The seed's equations (1)-(9)"}),
    Scene("vanishing", "Vanishing", "lstm", 1,
          "With the last-step loss and a closed forget gate (b_f = −2), |h̄(1)| / |h̄(T)| is below 10⁻¹²: "
          "the adjoint vanishes long before it reaches the first step.",
          {"lstm_loss": "last", "lstm_forget_bias": "-2.0", "lstm_tab": "Backward pass"}),
    Scene("exploding", "Exploding", "lstm", 1,
          "Weight scale 20 with T = 200 and H = 32 in float32: the adjoint through h grows until the backward "
          "pass overflows, and the page says so.",
          {"lstm_T": "200", "lstm_H": "32", "lstm_weight_scale": "20.0", "precision": "float32",
           "lstm_tab": "Backward pass"}),
    Scene("gradient-check", "BPTT against finite differences", "lstm", 2,
          "Every checked entry of the hand BPTT (w̄_ix among them) agrees with central finite differences; "
          "with the last-step loss the gradients of h(0) and c(0) vanish, and they are named as vanished, "
          "not failed.",
          {"lstm_loss": "last", "lstm_tab": "Gradient check"}),
    Scene("cost-model", "Which cost model is right", "mdrnn", 3,
          "The multiply-adds counted while both schedules run equal the exact model G²(DH + 2H²) − (Gr + Gc)H² "
          "exactly; the seed's G²(DH + H²) misses one of the two H × H products per cell.",
          {"mdrnn_tab": "Cost against the models"}),
    Scene("raster-wavefront", "Raster against wavefront", "mdrnn", 4,
          "An 8 × 8 grid takes G² = 64 steps cell by cell and 2G − 1 = 15 steps by anti-diagonals.",
          {"mdrnn_Gr": "8", "mdrnn_Gc": "8"}),
    Scene("time-grows", "Time grows like", "mdrnn", 4,
          "The counted work grows like G² for both schedules (log-log slope about 2); the raster's steps grow like G², "
          "the wavefront's like G (slope about 1), which is why its time grows more slowly on small grids.",
          {"mdrnn_tab": "Scaling"}),
    Scene("what-one-cell-sees", "What one cell sees", "mdrnn-vs-conv", 5,
          "For output cell (8, 5), a one-direction grid RNN sees exactly the quadrant above-left of it, four "
          "directions see "
          "the whole grid, and the conv net an (L(k − 1) + 1)-wide window: every map is non-zero exactly on its "
          "model's context.",
          {"mvc_i_star": "8", "mvc_j_star": "5"}),
    Scene("gradients-vanish", "Do gradients vanish with distance", "mdrnn-vs-conv", 5,
          "At weight scale 0.5 the tanh MDRNN's sensitivity shrinks by more than a third per step of distance, "
          "while the MDLSTM with forget-gate bias 3 keeps more than 0.9 per step: LSTM cells relieve vanishing.",
          {"mvc_scale": "0.5", "mvc_forget_bias": "3.0", "compare_tab": "Vanishing gradients"}),
    Scene("float-drifts", "Float drifts", "reversible", 6,
          "Undone in float64, training does not come back: the inverse leaves the forward path and misses θ(0) "
          "and p(0) (not bit for bit).",
          {"rev_arith": "float"}),
    Scene("exact-comes-home", "Exact comes home", "reversible", 6,
          "In exact arithmetic 2,000 steps of logistic regression on the digits (650 parameters), undone, "
          "return θ(0) and p(0) bit for bit (error 0), with the lost bits kept in the information buffer.",
          {"rev_objective": "digits", "rev_steps": "2000"}),
    Scene("buffer-grows", "The buffer grows", "reversible", 6,
          "The information buffer grows by whole 32-bit words as training runs, along the bound Σ D log₂(1/β) "
          "of the bits that the step destroys, and never more than 64 bits per parameter above it.",
          {"rev_steps": "2000", "reversible_tab": "Info buffer"}),
    Scene("det-beta-d", "det = βᴰ", "reversible", 7,
          "A polygon of states (p, θ) shrinks in area by exactly β per step (area after K steps over βᴷ is 1), "
          "so the Jacobian's determinant is β for D = 1 and β^D in general.",
          {"reversible_tab": "Phase space"}),
    Scene("hypergradients", "Hypergradients", "reversible", 7,
          "Reverse mode through the exact inverse gives the validation loss's gradient with respect to every "
          "step's α(k) and β(k), agreeing with finite differences, and the reverse pass lands on θ(0) exactly.",
          {"rev_objective": "digits", "reversible_tab": "Hypergradients"}),
)

BY_KEY: Mapping[str, Scene] = MappingProxyType({s.key: s for s in SCENES})


def literal(text: str) -> int | float | bool | str:
    """A scene's value as the control holds it: "8" an int, "20.0" a float, "true" a bool, else text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


def for_page(url_path: str) -> tuple[Scene, ...]:
    """The scenes of one page, in lecture order."""
    return tuple(s for s in SCENES if s.page == url_path)


def lecture_plan() -> tuple[Scene, ...]:
    """Every scene in the order of the seed's problems (1 to 7); within a problem, as declared."""
    return tuple(sorted(SCENES, key=lambda s: s.problem))
