"""Frozen configuration dataclasses whose fields carry their own bounds.

A config is the single description of one computation. Each field is declared with
:func:`param`, which records the default, the allowed range or choices, a label and a short
help. From that one declaration:

* the config validates itself on construction (:class:`ConfigError` with a clear message),
* the CLI builds its options (:func:`add_arguments`, :func:`from_namespace`),
* the dashboard builds its controls (``dashboard.widgets.config_controls``),
* the page shows the CLI command that reproduces it (:func:`to_cli_args`),
* the property tests draw from exactly the allowed space.

Example::

    @dataclass(frozen=True)
    class Sizes(Config):
        T: int = param(20, 1, 500, label="T (time steps)")
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from core.limits import ConfigError

C = TypeVar("C", bound="Config")


@dataclass(frozen=True)
class Spec:
    """What a field may hold and how it is presented."""

    label: str
    help: str = ""
    lo: float | None = None  # inclusive bounds for numbers
    hi: float | None = None
    step: float | None = None  # slider step for floats
    choices: tuple[Any, ...] | None = None  # for categorical fields
    advanced: bool = False  # hidden behind "Advanced" in lecture mode
    log: bool = False  # numbers spanning decades: chosen on a log scale


def param(default: Any, lo: float | None = None, hi: float | None = None, *, label: str,
          help: str = "", step: float | None = None, choices: tuple[Any, ...] | None = None,
          advanced: bool = False, log: bool = False) -> Any:
    """Declare a bounded config field (see module docstring)."""
    spec = Spec(label=label, help=help, lo=lo, hi=hi, step=step, choices=choices,
                advanced=advanced, log=log)
    return dataclasses.field(default=default, metadata={"spec": spec})


def fmt(value: float) -> str:
    """A bound or value as people write it: 2147483647, 0.05, 1e-06."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return str(int(value))
    return f"{value:g}"


def specs(cls_or_cfg: Any) -> dict[str, Spec]:
    """The declared fields of a config class (or instance), in declaration order."""
    return {f.name: f.metadata["spec"] for f in dataclasses.fields(cls_or_cfg) if "spec" in f.metadata}


def field_type(cls_or_cfg: Any, name: str) -> type:
    """The Python type of a field: int, float, bool or str."""
    default = next(f.default for f in dataclasses.fields(cls_or_cfg) if f.name == name)
    return type(default)


@dataclass(frozen=True)
class Config:
    """Base of every config: fields are checked against their :class:`Spec` on construction.

    Subclasses add cross-field checks (a memory estimate, say) by overriding :meth:`check`.
    """

    cli_topic: ClassVar[str] = ""  # the command that runs this config, e.g. "lstm run" (cli_command)
    # the sidebar's settings (RunConfig fields) that this command takes as options
    cli_run_options: ClassVar[tuple[str, ...]] = ("backend", "seed")

    def __post_init__(self) -> None:
        for name, spec in specs(self).items():
            value = getattr(self, name)
            kind = field_type(self, name)
            if kind is int and isinstance(value, float) and value.is_integer():
                value = int(value)
                object.__setattr__(self, name, value)
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
                object.__setattr__(self, name, value)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ConfigError(f"{spec.label}: expected {kind.__name__}, got {value!r}")
            if spec.choices is not None and value not in spec.choices:
                options = ", ".join(str(c) for c in spec.choices)
                raise ConfigError(f"{spec.label} = {value!r} is not one of: {options}")
            if kind in (int, float):
                if value != value or value in (float("inf"), float("-inf")):
                    raise ConfigError(f"{spec.label} must be a finite number, got {value!r}")
                if (spec.lo is not None and value < spec.lo) or (spec.hi is not None and value > spec.hi):
                    raise ConfigError(
                        f"{spec.label} = {fmt(value)} is out of range: "
                        f"choose {fmt(spec.lo)} to {fmt(spec.hi)}"
                    )
        self.check()

    def check(self) -> None:
        """Cross-field checks (sizes against memory, say). Raise ConfigError; default none."""

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, cls: type[Config], skip: tuple[str, ...] = ()) -> None:
    """Add one ``--name`` option per field of ``cls`` (defaults and help from the field)."""
    for f in dataclasses.fields(cls):
        if f.name in skip or "spec" not in f.metadata:
            continue
        spec: Spec = f.metadata["spec"]
        kind = type(f.default)
        rng = ""
        if spec.choices is not None:
            rng = " (" + ", ".join(str(c) for c in spec.choices) + ")"
        elif spec.lo is not None:
            rng = f" ({fmt(spec.lo)} to {fmt(spec.hi)})"
        text = f"{spec.help or spec.label}{rng}; default {f.default}"
        if kind is bool:
            action = parser.add_argument(_option(f.name), dest=f.name, default=f.default,
                                         action=argparse.BooleanOptionalAction, help=text)
        else:
            action = parser.add_argument(_option(f.name), dest=f.name, type=kind, default=f.default,
                                         metavar=f.name.upper() if kind is not str else "NAME",
                                         help=text)
        action.spec = spec  # the declared bounds, for tests that explore the CLI


def from_namespace(cls: type[C], ns: argparse.Namespace, **overrides: Any) -> C:
    """Build (and so validate) a config from parsed CLI options."""
    values = {f.name: getattr(ns, f.name) for f in dataclasses.fields(cls)
              if "spec" in f.metadata and hasattr(ns, f.name)}
    values.update(overrides)
    return cls(**values)


def to_cli_args(cfg: Config, skip: tuple[str, ...] = ()) -> list[str]:
    """CLI options that reproduce ``cfg`` (only fields that differ from their default)."""
    args: list[str] = []
    for f in dataclasses.fields(cfg):
        if f.name in skip or "spec" not in f.metadata:
            continue
        value = getattr(cfg, f.name)
        if value == f.default:
            continue
        if isinstance(value, bool):
            args.append(_option(f.name) if value else "--no-" + f.name.replace("_", "-"))
        else:
            args += [_option(f.name), repr(value) if isinstance(value, float) else str(value)]
    return args


def cli_command(*cfgs: Config, run: Config | None = None, topic: str = "", skip: tuple[str, ...] = (),
                extra: tuple[str, ...] = ()) -> list[str]:
    """The arguments of ``python -m core`` that reproduce ``cfgs``: the first config's declared
    ``cli_topic`` (or ``topic``), each config's options that differ from their defaults, the
    sidebar's settings of ``run`` that the command takes (``cli_run_options``), then ``extra``."""
    head = cfgs[0]
    args = (topic or head.cli_topic).split()
    if not args:
        raise ValueError(f"{type(head).__name__} declares no cli_topic")
    for c in cfgs:
        args += to_cli_args(c, skip=skip)
    if run is not None:
        for name in head.cli_run_options:
            args += [_option(name), str(getattr(run, name))]
    return [*args, *extra]


@dataclass(frozen=True)
class RunConfig(Config):
    """Where and how a computation runs; shared by every page (the sidebar) and command."""

    backend: str = param("auto", choices=("auto", "numpy", "cupy"), label="Backend",
                         help="array library: NumPy on the CPU, CuPy on an NVIDIA GPU")
    precision: str = param("float64", choices=("float64", "float32"), label="Precision",
                           help="floating-point format of the arrays")
    seed: int = param(0, 0, 2**31 - 1, label="Random seed",
                      help="seeds every random draw, so a link reproduces the same numbers")
