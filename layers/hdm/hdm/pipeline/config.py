"""Migration configuration: validated data, never code branches per customer.

Secrets are *references* (``env:NAME``, ``file:/path``, ``arn:aws:secretsmanager:…``), resolved only
where a connection is opened (hdm.pipeline.secrets). A config therefore can be logged, staged and
passed as state machine input without leaking anything.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional, Union, get_args, get_origin

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetCoreSchemaHandler

from hdm import registry

SECRET_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+|arn:aws[a-z-]*:secretsmanager:.+)$")


def _check_secret_ref(value: Optional[str]) -> Optional[str]:
    if value is None:
        return value
    if not SECRET_REF.match(value):
        raise ValueError(
            "must be a secret reference (env:NAME, file:/path or a Secrets Manager ARN), not a literal secret"
        )
    return value


@dataclass(frozen=True)
class FieldKind:
    """A marker on a config field's type: what the value is, so checks find every such field by its type
    (a new field of one of these types is checked without anyone listing it)."""

    name: str


SECRET = FieldKind("secret reference")
LOCAL_PATH = FieldKind("local path")
SOURCE_HOST = FieldKind("source host")
LOGIN_DOMAIN = FieldKind("login domain")
DESTINATION_URL = FieldKind("destination URL")
INSECURE_OPT_OUT = FieldKind("insecure opt-out")
PROTECTION = FieldKind("protection")

# the types of config fields; use these (not plain str) for every new field of such a kind
SecretRef = Annotated[str, SECRET, AfterValidator(_check_secret_ref)]  # env:NAME, file:/path or an ARN
LocalPath = Annotated[str, LOCAL_PATH]  # a file or folder on the machine that runs the migration
SourceHost = Annotated[str, SOURCE_HOST]  # a host the source connects to
LoginDomain = Annotated[str, LOGIN_DOMAIN]  # a name its destination expands into a login URL (LOGIN_URL)
DestinationUrl = Annotated[str, DESTINATION_URL]
InsecureOptOut = Annotated[bool, INSECURE_OPT_OUT]  # switches a protection off: never chosen through the API
Protection = Annotated[bool, PROTECTION]  # a protection that is on by default: never switched off through the API


def fields_of_kind(model: BaseModel, kind: FieldKind, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every set value of a field whose type carries ``kind``, as (dotted path, value), at any depth
    (nested models, lists and dicts, Optional/Union)."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        yield from _walk(value, info.annotation, tuple(info.metadata), f"{path}{name}", kind)


def field_names_of_kind(kind: FieldKind) -> frozenset[str]:
    """The names of every field whose type carries ``kind`` in any registered connector's config (at any depth),
    from the types alone: what a log masker masks by name when it sees only plain data."""
    names: set[str] = set()
    seen: set[type] = set()
    todo: list[Any] = [m for k in registry.KINDS for m in registry.config_models(k)]
    while todo and len(seen) < 500:
        model = todo.pop()
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            members, kinds = _members(info.annotation)
            kinds.update(m for m in info.metadata if isinstance(m, FieldKind))
            if kind in kinds:
                names.add(name)
            stack = list(members)
            while stack:
                t = stack.pop()
                args = get_args(t)
                if args:
                    for a in args:
                        stack.extend(_members(a)[0])
                        if kind in _members(a)[1]:
                            names.add(name)
                elif isinstance(t, type) and issubclass(t, BaseModel):
                    todo.append(t)
    return frozenset(names)


def _members(annotation: Any) -> tuple[list[Any], set[Any]]:
    """The concrete types behind Optional/Union/Annotated, and the metadata met on the way."""
    types_, metadata = [], set()
    stack = [annotation]
    while stack:
        ann = stack.pop()
        origin = get_origin(ann)
        if origin is Annotated:
            base, *meta = get_args(ann)
            metadata.update(m for m in meta if isinstance(m, FieldKind))
            stack.append(base)
        elif origin is Union or origin is types.UnionType:
            stack.extend(get_args(ann))
        elif isinstance(ann, type) and issubclass(ann, _Registered):  # any registered connector's config
            stack.extend(registry.config_models(ann.kind))  # type: ignore[arg-type]
        else:
            types_.append(ann)
    return types_, metadata


def _walk(value: Any, annotation: Any, metadata: tuple, path: str, kind: FieldKind) -> Iterator[tuple[str, Any]]:
    if value is None:
        return
    if isinstance(value, BaseModel):
        yield from fields_of_kind(value, kind, path + ".")
        return
    members, kinds = _members(annotation)
    kinds.update(m for m in metadata if isinstance(m, FieldKind))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [get_args(t)[0] for t in members if get_origin(t) in (list, tuple, set, frozenset) and get_args(t)]
        for i, item in enumerate(value):
            yield from _walk(item, items[0] if items else Any, (), f"{path}[{i}]", kind)
        return
    if isinstance(value, dict):
        vals = [get_args(t)[1] for t in members if get_origin(t) is dict and len(get_args(t)) == 2]
        for key, item in value.items():
            yield from _walk(item, vals[0] if vals else Any, (), f"{path}.{key}", kind)
        return
    if kind in kinds:
        yield path, value


class StrictModel(BaseModel):
    """A config model that refuses unknown keys (a typo is an error, not a silently ignored setting)."""

    model_config = ConfigDict(extra="forbid")


_Strict = StrictModel  # its former name


class ConnectorConfig(StrictModel):
    """The base of a connector's config model (unknown keys refused). A connector's config has a
    ``type: Literal["<name>"]`` field and uses the field types above (``SecretRef``, ``LocalPath``, ...) so
    the checks and the secret resolution find its fields by type."""


class _Registered:
    """A config field whose type is the discriminated union (on ``type``) of every registered connector config of
    one kind (:mod:`hdm.registry`). The union is built when the model's schema is first needed, after every
    module is imported: connector configs import the field kinds from this module, so building it at import
    time would be a cycle."""

    kind: str = ""

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, handler: GetCoreSchemaHandler) -> Any:
        models = registry.config_models(cls.kind)  # type: ignore[arg-type]
        if not models:
            raise RuntimeError(f"no {cls.kind} connector is registered")
        union = Union[tuple(models)] if len(models) > 1 else models[0]  # noqa: UP007 - built at run time
        return handler.generate_schema(Annotated[union, Field(discriminator="type")])


class SourceConfig(_Registered):
    """Any registered source's config."""

    kind = "source"


class DestinationConfig(_Registered):
    """Any registered destination's config."""

    kind = "destination"


class MigrationConfig(StrictModel):
    # built on first use, once the connectors are registered (see _Registered); rebuilt when one (un)registers
    model_config = ConfigDict(extra="forbid", defer_build=True)

    migration_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,62}$")
    source: SourceConfig
    destination: DestinationConfig
    chunk_rows: int = Field(2000, ge=1, le=1_000_000)  # source rows per chunk (tickets for ticket-scoped types)
    require_approval: bool = True  # a person confirms the mapping before any record moves
    thread_confidence_threshold: float = Field(0.8, ge=0.0, le=1.0)
    max_workers: int = Field(2, ge=1, le=64)  # local engine worker pool
    options: dict[str, Any] = Field(default_factory=dict)
    # a load phase rejecting more than this share of its records stops the run before its dependants load
    reject_threshold: float = Field(0.01, ge=0.0, le=1.0)

    @classmethod
    def load(cls, path: str | Path) -> MigrationConfig:
        """The validated config of a YAML file; :class:`ConfigError` (no values quoted) when it is not one."""
        return read_config(path)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ConfigError(ValueError):
    """A config that cannot be used: each problem is one line naming the field, never its value."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"invalid config {source}: " + "; ".join(problems))


def _rebuild_after_registration() -> None:
    if MigrationConfig.__pydantic_complete__:  # built already: its unions must now include (or drop) the change
        MigrationConfig.model_rebuild(force=True)


registry.on_change(_rebuild_after_registration)


def _union_tags(kind: str) -> set[str]:
    return set(registry.connectors(kind))  # type: ignore[arg-type]


def validation_problems(exc: Any) -> list[dict[str, Any]]:
    """A pydantic ValidationError as [{"loc": [...], "msg": ...}], without the input values (which can be
    literal secrets someone pasted into the config)."""
    out = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = list(err.get("loc", ()))
        if len(loc) > 1 and str(loc[0]) in ("source", "destination") and loc[1] in _union_tags(str(loc[0])):
            del loc[1]  # the discriminator's tag pydantic adds to the path
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "union_tag_invalid" and loc and str(loc[0]) in registry.KINDS:
            # a connector installed but broken: say which module failed and why, not only "not expected"
            msg += "".join(f"; {f.kind} {f.name!r} could not be loaded: {f.describe()}"
                           for f in registry.failures(str(loc[0])))  # type: ignore[arg-type]
        out.append({"loc": loc, "msg": msg})
    return out


def describe_validation_error(exc: Any) -> list[str]:
    """One line per problem: ``source.password: must be a secret reference …`` (no input value)."""
    return [f"{'.'.join(str(p) for p in e['loc']) or '(config)'}: {e['msg']}" for e in validation_problems(exc)]


def read_config(path: str | Path) -> MigrationConfig:
    """Load and validate a config file; every failure is a :class:`ConfigError` that quotes no value."""
    from pydantic import ValidationError

    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, ["the file does not exist"]) from None
    except IsADirectoryError:
        raise ConfigError(name, ["is a folder, not a file"]) from None
    except PermissionError:
        raise ConfigError(name, ["permission denied"]) from None
    except UnicodeDecodeError:
        raise ConfigError(name, ["is not UTF-8 text"]) from None
    except OSError as exc:
        raise ConfigError(name, [exc.strerror or type(exc).__name__]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # the error's own text quotes the offending line, which may hold a secret: position and problem only
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(name, [f"not valid YAML: {where}{problem}"]) from None
    try:
        return MigrationConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(name, describe_validation_error(exc)) from None


def __getattr__(name: str) -> Any:
    """Connector config models used to live here: ``hdm.pipeline.config.<ClassName>`` still finds a registered
    connector's config model by its class name (new code imports it from the connector's package)."""
    if not name.startswith("_"):
        for kind in registry.KINDS:
            for model in registry.config_models(kind):
                if model.__name__ == name:
                    return model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
