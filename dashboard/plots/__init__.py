"""Pure functions that turn NumPy/pandas results into plotly figures, one module per page.

No ``st.*`` calls and no numerics here: a figure function receives finished numbers and only
draws them. Every figure uses :data:`TEMPLATE` (a colour-blind-safe palette); pages call the
functions re-exported here (``plots.lstm_forward_heatmaps``, ...).
"""

from dashboard.plots.grid_compare import (
    decay_plot,
    depth_plot,
    forget_bias_plot,
    loss_curves,
    sensitivity_maps,
    warp_accuracy,
    warped_digits,
)
from dashboard.plots.lstm import (
    lstm_adjoint_norms,
    lstm_forward_heatmaps,
    lstm_forward_lines,
    lstm_seed_values,
)
from dashboard.plots.mdrnn import (
    cost_bars,
    scaling_plot,
    schedule_animation,
    state_heatmap,
)
from dashboard.plots.overview import (
    recurrence_overview,
)
from dashboard.plots.reversible import (
    buffer_bits,
    hypergradient_plot,
    phase_polygons,
    reconstruction_errors,
    trajectory_animation,
    trajectory_extent,
)
from dashboard.plots.theme import DIVERGING, PALETTE, SEQUENTIAL, TEMPLATE, lecture_fonts, styled

__all__ = [
    "DIVERGING",
    "PALETTE",
    "SEQUENTIAL",
    "TEMPLATE",
    "buffer_bits",
    "cost_bars",
    "decay_plot",
    "depth_plot",
    "forget_bias_plot",
    "hypergradient_plot",
    "lecture_fonts",
    "loss_curves",
    "lstm_adjoint_norms",
    "lstm_forward_heatmaps",
    "lstm_forward_lines",
    "lstm_seed_values",
    "phase_polygons",
    "reconstruction_errors",
    "recurrence_overview",
    "scaling_plot",
    "schedule_animation",
    "sensitivity_maps",
    "state_heatmap",
    "styled",
    "trajectory_animation",
    "trajectory_extent",
    "warp_accuracy",
    "warped_digits",
]
