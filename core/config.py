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
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from core.backend import BACKEND_NAMES
from core.limits import ECHO_CHARS, ConfigError, echo

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
    kind: type | None = None  # the type of a field whose default is None ("not given")


def param(default: Any, lo: float | None = None, hi: float | None = None, *, label: str,
          help: str = "", step: float | None = None, choices: tuple[Any, ...] | None = None,
          advanced: bool = False, log: bool = False, kind: type | None = None) -> Any:
    """Declare a bounded config field (see module docstring). A field that may be left out
    has the default None and names its ``kind`` (int, float or str)."""
    if default is None and kind is None:
        raise TypeError(f"{label}: a field whose default is None must name its kind")
    spec = Spec(label=label, help=help, lo=lo, hi=hi, step=step, choices=choices,
                advanced=advanced, log=log, kind=kind)
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
    f = next(f for f in dataclasses.fields(cls_or_cfg) if f.name == name)
    declared = f.metadata["spec"].kind if "spec" in f.metadata else None
    return declared or type(f.default)


def check_value(spec: Spec, kind: type, value: Any) -> Any:
    """``value`` as a value of the declared field (an int-valued float becomes an int, an int a
    float), or ConfigError saying what is allowed; what was given is shown cut short."""
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{spec.label}: expected {kind.__name__}, got {echo(value)}")
    if spec.choices is not None and value not in spec.choices:
        options = ", ".join(str(c) for c in spec.choices)
        raise ConfigError(f"{spec.label} = {echo(value)} is not one of: {options}")
    if kind in (int, float):
        if value != value or value in (math.inf, -math.inf):
            raise ConfigError(f"{spec.label} must be a finite number, got {echo(value)}")
        if (spec.lo is not None and value < spec.lo) or (spec.hi is not None and value > spec.hi):
            shown = fmt(value) if abs(value) < 10**ECHO_CHARS else echo(value)
            raise ConfigError(f"{spec.label} = {shown} is out of range: choose {fmt(spec.lo)} to {fmt(spec.hi)}")
    return value


_WHOLE = re.compile(r"\s*[+-]?[0-9]+\s*")
_INFINITE = re.compile(r"\s*[+-]?(inf|infinity)\s*", re.IGNORECASE)


def _allowed(spec: Spec) -> str:
    if spec.choices is not None:
        return "choose one of " + ", ".join(str(c) for c in spec.choices)
    return f"choose {fmt(spec.lo)} to {fmt(spec.hi)}"


def parse_option(spec: Spec, kind: type, text: str) -> Any:
    """A field's value from text typed on a command line, checked by :func:`check_value`.

    Nothing the text holds can slip past the declaration: a number too long for ``int`` (over
    4300 digits) or for a float (``1e400``) is out of range, not a crash or an infinity, and
    ``nan`` or ``inf`` typed as such is not a finite number."""
    if kind is str:
        return check_value(spec, kind, text)
    if kind is int:
        if not _WHOLE.fullmatch(text):
            raise ConfigError(f"{spec.label} must be a whole number, got {echo(text)}")
        if len(text.strip().lstrip("+-").lstrip("0")) > ECHO_CHARS:  # beyond every declared bound
            raise ConfigError(f"{spec.label} = {echo(text)} is out of range: {_allowed(spec)}")
        return check_value(spec, kind, int(text))
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{spec.label} must be a number, got {echo(text)}") from None
    if math.isinf(value) and not _INFINITE.fullmatch(text):  # 1e400: finite, but beyond float64
        raise ConfigError(f"{spec.label} = {echo(text)} is out of range: {_allowed(spec)}")
    return check_value(spec, kind, value)


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
            if value is None and spec.kind is not None:  # an optional field left out
                continue
            object.__setattr__(self, name, check_value(spec, field_type(self, name), value))
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


@dataclass(frozen=True)
class Options:
    """Some fields of a config as CLI options: every declared field but ``skip``, or only
    those in ``only``; ``defaults`` replaces a field's default on the command line."""

    cls: type[Config]
    skip: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()

    def fields(self) -> list[dataclasses.Field]:
        return [f for f in dataclasses.fields(self.cls) if "spec" in f.metadata and f.name not in self.skip
                and (not self.only or f.name in self.only)]


def _converter(spec: Spec, kind: type) -> Callable[[str], Any]:
    """argparse's ``type`` for a field: :func:`parse_option`, its ConfigError in argparse's words."""

    def convert(text: str) -> Any:
        try:
            return parse_option(spec, kind, text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = kind.__name__  # what argparse names in its own messages
    return convert


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type[Config] | Options,
                  skip: tuple[str, ...] = ()) -> None:
    """Add one ``--name`` option per field of ``cls`` (or of an :class:`Options` selection):
    default and help from the field, and every value typed checked by its declaration."""
    opts = cls if isinstance(cls, Options) else Options(cls, skip=skip)
    defaults = dict(opts.defaults)
    for f in opts.fields():
        spec: Spec = f.metadata["spec"]
        kind = field_type(opts.cls, f.name)
        default = defaults.get(f.name, f.default)
        rng = ""
        if spec.choices is not None:
            rng = " (" + ", ".join(str(c) for c in spec.choices) + ")"
        elif spec.lo is not None:
            rng = f" ({fmt(spec.lo)} to {fmt(spec.hi)})"
        text = f"{spec.help or spec.label}{rng}" + ("" if default is None else f"; default {default}")
        if kind is bool:
            action = parser.add_argument(_option(f.name), dest=f.name, default=default,
                                         action=argparse.BooleanOptionalAction, help=text)
        else:
            action = parser.add_argument(_option(f.name), dest=f.name, type=_converter(spec, kind), default=default,
                                         metavar=f.name.upper() if kind is not str else "NAME", help=text)
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

    backend: str = param("auto", choices=BACKEND_NAMES, label="Backend",
                         help="array library: NumPy on the CPU, CuPy on an NVIDIA GPU")
    precision: str = param("float64", choices=("float64", "float32"), label="Precision",
                           help="floating-point format of the arrays")
    seed: int = param(0, 0, 2**31 - 1, label="Random seed",
                      help="seeds every random draw, so a link reproduces the same numbers")
