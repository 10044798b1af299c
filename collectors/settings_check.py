"""Configuration mistakes told in a farmer's words, driven by the settings tree itself.

Every setting is a leaf of :class:`collectors.settings.Settings`; each has an environment name
(``COSMOS_METRICS__TARGETS``) and an example of a right value, taken from the field (its
``examples``, an "e.g." in its description, its default) or built from its type. So a setting
added to the tree is checked and explained without anything added here.

- A list or map that is not JSON is caught before pydantic-settings would fail on it (with a
  traceback), and told with the JSON it probably meant (``["no_reward"]``).
- Every validation error is one line: the variable, what was wrong, and an example.
- A ``COSMOS_`` variable that is no setting gets a warning naming the closest real one.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

PREFIX = "COSMOS_"
NESTED = "__"
SECRET_FIELDS = frozenset({"token", "webhook_url", "webhooks", "heartbeat_url"})


@dataclass(frozen=True, slots=True)
class Leaf:
    """One setting: where it lives in the tree, its type and its field."""

    path: tuple[str, ...]
    annotation: Any
    field: FieldInfo

    @property
    def env(self) -> str:
        return PREFIX + NESTED.join(p.upper() for p in self.path)

    @property
    def complex(self) -> bool:
        """Written as JSON (a list, a map or an object)."""
        return _is_complex(self.annotation)

    @property
    def secret(self) -> bool:
        return any(p in SECRET_FIELDS for p in self.path)

    def example(self) -> str:
        return as_env_text(example_value(self.annotation, self.field), self.annotation)


# --- the tree -----------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """``int | None`` -> ``int``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_complex(annotation: Any) -> bool:
    inner = _unwrap(annotation)
    return _is_model(inner) or typing.get_origin(inner) in (list, dict, tuple, set)


def leaves(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[Leaf]:
    """Every setting that has an environment variable of its own (sections are walked into)."""
    for name, field in model.model_fields.items():
        inner = _unwrap(field.annotation)
        if _is_model(inner):
            yield from leaves(inner, (*prefix, name))
        else:
            yield Leaf((*prefix, name), field.annotation, field)


def item_leaves(leaf: Leaf) -> Iterator[tuple[str, Leaf]]:
    """For a list of objects (``COSMOS_METRICS__TARGETS``): each field of one item."""
    inner = _unwrap(leaf.annotation)
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner) or (Any,)
        if _is_model(item):
            for name, field in item.model_fields.items():
                yield name, Leaf((*leaf.path, name), field.annotation, field)


def sections(model: type[BaseModel]) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for name, field in model.model_fields.items():
        inner = _unwrap(field.annotation)
        if _is_model(inner):
            out.add((name,))
            out |= {(name, *s) for s in sections(inner)}
    return out


# --- examples -----------------------------------------------------------------------------


def _from_description(field: FieldInfo) -> str | None:
    text = field.description or ""
    marker = "e.g. "
    if marker not in text:
        return None
    return text.split(marker, 1)[1].split(" ")[0].rstrip(",;)")


def _default(field: FieldInfo) -> Any:
    if field.default is not PydanticUndefined and field.default not in (None, "", [], {}):
        return field.default
    factory = field.default_factory
    if factory is not None:
        try:
            value = factory()  # type: ignore[call-arg]
        except TypeError:
            return None
        if value not in (None, "", [], {}) and not isinstance(value, BaseModel):
            return value
    return None


def example_value(annotation: Any, field: FieldInfo | None = None) -> Any:
    """A right value for a setting, as Python data (JSON-able)."""
    if field is not None:
        if field.examples:
            return field.examples[0]
        described = _from_description(field)
        if described is not None and not _is_complex(annotation):
            return described
        default = _default(field)
        if default is not None:
            if isinstance(default, SecretStr):
                return None
            if isinstance(default, Path):
                return str(default)
            if isinstance(default, BaseModel):
                return default.model_dump(mode="json")
            if isinstance(default, list):
                return [
                    d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in default
                ]
            return default
    return _by_type(_unwrap(annotation), field)


def _by_type(annotation: Any, field: FieldInfo | None) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return typing.get_args(annotation)[0]
    if _is_model(annotation):
        fields = annotation.model_fields
        # The required fields; with none required, the first (an object says what it is).
        chosen = [n for n, f in fields.items() if f.is_required()] or list(fields)[:1]
        return {name: example_value(fields[name].annotation, fields[name]) for name in chosen}
    if origin in (list, tuple, set):
        (item,) = typing.get_args(annotation)[:1] or (str,)
        return [example_value(item)]
    if origin is dict:
        _, value = typing.get_args(annotation) or (str, str)
        return {"name": example_value(value)}
    if annotation is bool:
        return True
    if annotation in (int, float):
        return _number(annotation, field)
    if annotation is SecretStr:
        return "a-long-random-secret-such-as-openssl-rand-hex-24"
    if annotation is Path:
        return "/path/to/file"
    return "text"


def _number(annotation: Any, field: FieldInfo | None) -> int | float:
    low = 1
    for constraint in field.metadata if field is not None else []:
        if getattr(constraint, "ge", None) is not None:
            low = max(low, int(constraint.ge))
        if getattr(constraint, "gt", None) is not None:
            low = max(low, int(constraint.gt) + 1)
    return annotation(low)  # type: ignore[no-any-return]


def as_env_text(value: Any, annotation: Any) -> str:
    """How the value is written after ``COSMOS_X=`` in .env."""
    if _is_complex(annotation):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- reading what was set -----------------------------------------------------------------


def read_environment(env_file: Path | None, environ: Mapping[str, str]) -> dict[str, str]:
    """``COSMOS_`` variables as pydantic-settings sees them: the file, then the environment."""
    from dotenv import dotenv_values

    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(environ)
    return {k.upper(): v for k, v in values.items() if k.upper().startswith(PREFIX)}


def find_leaf(model: type[BaseModel], env: str) -> Leaf | None:
    for leaf in leaves(model):
        if leaf.env == env:
            return leaf
    return None


def json_problems(model: type[BaseModel], values: Mapping[str, str]) -> list[str]:
    """Lists and maps that are not JSON, one line each with the JSON probably meant."""
    problems: list[str] = []
    for env, raw in values.items():
        leaf = find_leaf(model, env)
        if leaf is None or not leaf.complex:
            continue
        try:
            json.loads(raw)
        except ValueError:
            problems.append(
                line(leaf.env, f"is not JSON ({_json_hint(leaf, raw)})", raw, leaf, leaf.secret)
            )
    return problems


def _json_hint(leaf: Leaf, raw: str) -> str:
    inner = _unwrap(leaf.annotation)
    if typing.get_origin(inner) is list and not leaf.secret:
        (item,) = typing.get_args(inner) or (str,)
        if not _is_model(item) and raw.strip():
            parts = [p.strip() for p in raw.split(",") if p.strip()]
            return f"a list is written in brackets and quotes: {json.dumps(parts)}"
    if typing.get_origin(inner) is dict:
        return 'a map is written in braces: {"key": value}'
    return "lists and maps are written in JSON"


def unknown_variables(model: type[BaseModel], values: Mapping[str, str]) -> list[str]:
    """Warnings for ``COSMOS_`` variables that are no setting, with the closest real name."""
    known = [leaf.env for leaf in leaves(model)]
    section_names = {PREFIX + NESTED.join(p.upper() for p in s) for s in sections(model)}
    warnings: list[str] = []
    for env in sorted(values):
        if env in known or any(env.startswith(k + NESTED) for k in known):
            continue
        if any(env.startswith(s + NESTED) for s in section_names):
            continue  # a wrong name inside a section is an error pydantic reports
        warnings.append(f"{env} is not a cosmos setting and is ignored{closest(env, known)}")
    return warnings


def closest(name: str, known: list[str]) -> str:
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {match[0]}?" if match else ""


# --- messages -----------------------------------------------------------------------------


def env_name(location: tuple[int | str, ...]) -> str:
    """``('metrics', 'targets', 0, 'url')`` -> ``COSMOS_METRICS__TARGETS[0].url``."""
    head: list[str] = []
    tail = ""
    for part in location:
        if isinstance(part, int) or tail:
            tail += f"[{part}]" if isinstance(part, int) else f".{part}"
        else:
            head.append(str(part).upper())
    return PREFIX + NESTED.join(head) + tail


def line(name: str, what: str, value: Any, leaf: Leaf | None, secret: bool) -> str:
    shown = "" if secret or isinstance(value, dict | list) else f" (got {value!r})"
    example = f"; e.g. {leaf.env}={leaf.example()}" if leaf is not None else ""
    return f"  - {name}: {what}{shown}{example}"


def _leaf_at(model: type[BaseModel], location: tuple[int | str, ...]) -> Leaf | None:
    """The setting (the variable) a validation error's location falls in."""
    names = tuple(str(p) for p in location if not isinstance(p, int))
    for leaf in leaves(model):
        if names[: len(leaf.path)] == leaf.path:
            return leaf
    return None


def describe_errors(model: type[BaseModel], error: ValidationError) -> list[str]:
    out: list[str] = []
    section_leaves = [leaf.env for leaf in leaves(model)]
    for item in error.errors():
        location = tuple(item["loc"])
        name = env_name(location)
        leaf = _leaf_at(model, location)
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden" and leaf is None:
            message = f"is not a cosmos setting{closest(name, section_leaves)}"
        secret = any(str(p) in SECRET_FIELDS for p in location)
        out.append(line(name, message, item.get("input"), leaf, secret))
    return out


def header(problems: list[str]) -> str:
    return "\n".join(
        [
            "cosmos cannot start: the configuration has a problem.",
            *problems,
            "See .env.example for every setting with an example.",
        ]
    )
