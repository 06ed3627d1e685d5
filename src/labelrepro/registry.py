"""Registries of trainers, aggregators and renderers: each registers where it is defined.

A paper package (`labelrepro.papers.<paper>`) imports its declaration modules in its `__init__`; each
of them decorates what it defines, the way torchvision registers its models by name:

    @TRAINERS.register("random_labels", implementation="labelrepro.papers.random_labels.trainer")
    @dataclass(frozen=True, kw_only=True)
    class RandomLabelsSettings(OptimSettings): ...

    @RENDERERS.register("fig3a")
    def render_fig3a(curves, final, out, scale): ...

Looking a name up imports every paper package once (`load_papers`). Declaration modules import neither
torch nor matplotlib at module level, so the Snakefile can validate every experiment in a fraction of a
second; a trainer's implementation module (which builds networks) is imported only when a job runs.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, Generic, TypeVar

T = TypeVar("T")
PAPERS_PACKAGE = "labelrepro.papers"
#: Shared modules that register something every paper may use (e.g. the `final_per_run` aggregator).
SHARED_MODULES = ("labelrepro.engine.aggregate",)


@functools.cache
def load_papers() -> tuple[str, ...]:
    """Import every paper package once; returns their names."""
    package = importlib.import_module(PAPERS_PACKAGE)
    names = [info.name for info in pkgutil.iter_modules(package.__path__) if info.ispkg]
    for module in (*SHARED_MODULES, *(f"{PAPERS_PACKAGE}.{name}" for name in names)):
        importlib.import_module(module)
    return tuple(names)


class UnknownNameError(KeyError, ValueError):
    """A name that no module registered; the message lists the known names and the closest one."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Generic[T]):
    """Name -> object, filled by the `register` decorator where each object is defined."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, **declared: Any) -> Callable[[Any], Any]:
        """Decorator: register the decorated object (or, for trainers, a `Trainer` built from it)."""

        def decorate(obj: Any) -> Any:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = self._wrap(name, obj, declared)
            return obj

        return decorate

    def register_instance(self, name: str) -> Callable[[type], type]:
        """Class decorator for a paper's method classes: set `cls.name` and register one instance."""

        def decorate(cls: type) -> type:
            cls.name = name  # type: ignore[attr-defined]
            self.register(name)(cls())
            return cls

        return decorate

    def _wrap(self, name: str, obj: Any, declared: dict[str, Any]) -> T:
        if declared:
            raise TypeError(f"{self.kind} registry takes no declarations, got {sorted(declared)}")
        return obj

    def __contains__(self, name: object) -> bool:
        load_papers()
        return name in self._items

    def __getitem__(self, name: str) -> T:
        load_papers()
        if name not in self._items:
            close = difflib.get_close_matches(name, list(self._items), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} '{name}'{hint}; known: {', '.join(sorted(self._items))}"
            )
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        load_papers()
        return iter(sorted(self._items))

    def names(self) -> list[str]:
        return list(self)

    def in_order(self) -> list[str]:
        """Names in registration order (e.g. a paper's table rows, as its module defines them)."""
        load_papers()
        return list(self._items)


@dataclasses.dataclass(frozen=True)
class Trainer:
    """A trainer: its settings dataclass (validated at parse time) and the module that trains.

    `implementation` names a module with a `Run` subclass called `RUN` (labelrepro.engine.loop); it is
    imported only by `load()`, i.e. inside a training job. `revision` is part of every run id of the
    trainer: raise it when a code change alters what runs with unchanged settings compute (e.g. a
    corrected baseline), so that their stored run folders are not reused.
    """

    name: str
    settings: type
    implementation: str
    revision: int = 1

    def load(self) -> ModuleType:
        return importlib.import_module(self.implementation)


class TrainerRegistry(Registry[Trainer]):
    def _wrap(self, name: str, obj: Any, declared: dict[str, Any]) -> Trainer:
        if "implementation" not in declared or set(declared) - {"implementation", "revision"}:
            raise TypeError("register a trainer as @TRAINERS.register(name, implementation='module'"
                            "[, revision=N])")
        return Trainer(name, obj, declared["implementation"], declared.get("revision", 1))


TRAINERS = TrainerRegistry("trainer")
#: (curves DataFrame) -> aggregate DataFrame.
AGGREGATORS: Registry[Callable[..., Any]] = Registry("aggregator")
#: (curves, aggregate, output path, scale) -> table cells DataFrame (tables) or None (figures).
RENDERERS: Registry[Callable[..., Any]] = Registry("renderer")
