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
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from hdm.sources.tls import is_loopback_host

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
LoginDomain = Annotated[str, LOGIN_DOMAIN]  # simple-salesforce's `domain`: https://{domain}.salesforce.com
DestinationUrl = Annotated[str, DESTINATION_URL]
InsecureOptOut = Annotated[bool, INSECURE_OPT_OUT]  # switches a protection off: never chosen through the API
Protection = Annotated[bool, PROTECTION]  # a protection that is on by default: never switched off through the API


def fields_of_kind(model: BaseModel, kind: FieldKind, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every set value of a field whose type carries ``kind``, as (dotted path, value), at any depth
    (nested models, lists and dicts, Optional/Union)."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        yield from _walk(value, info.annotation, tuple(info.metadata), f"{path}{name}", kind)


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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceTlsConfig(_Strict):
    """TLS to the source database; the server's certificate is always verified."""

    ca_bundle: Optional[LocalPath] = None  # the CA file to trust (absent, with ca_pem: the system's trust store)
    # or that file's PEM text, as a secret reference (on Lambda, where no local file can be named): loaded in memory
    ca_pem: Optional[SecretRef] = None
    verify_identity: Protection = True  # the certificate must name `host`
    client_cert: Optional[LocalPath] = None  # a client certificate (PEM), when the server asks for one
    client_key: Optional[LocalPath] = None  # its key, when not in client_cert
    client_key_password: Optional[SecretRef] = None

    @model_validator(mode="after")
    def _key_needs_cert(self) -> SourceTlsConfig:
        if self.ca_bundle and self.ca_pem:
            raise ValueError("ca_bundle and ca_pem both name the CA to trust: give one (ca_bundle: a file; "
                             "ca_pem: a secret reference to its PEM text)")
        if (self.client_key or self.client_key_password) and not self.client_cert:
            raise ValueError("client_key / client_key_password need client_cert")
        return self


class OsTicketSourceConfig(_Strict):
    type: Literal["osticket"] = "osticket"
    host: SourceHost = "127.0.0.1"
    port: int = Field(3306, ge=1, le=65535)
    database: str
    user: str
    password: SecretRef
    prefix: Optional[str] = Field(None, pattern=r"^[A-Za-z0-9_]{0,32}$")  # table prefix; detected when absent
    attachments_dir: Optional[LocalPath] = None  # the filesystem storage backend's upload path
    attachment_roots: list[LocalPath] = Field(default_factory=list)  # further folders files may be read from ('6')
    allow_writable: bool = False
    # TLS: required for every host that is not loopback; the only way around it is the loud opt-out below
    ssl: Optional[SourceTlsConfig] = None
    insecure_plaintext_connection: InsecureOptOut = False

    @model_validator(mode="after")
    def _tls_required_off_this_machine(self) -> OsTicketSourceConfig:
        if self.ssl is not None and self.insecure_plaintext_connection:
            raise ValueError("ssl and insecure_plaintext_connection contradict each other: drop one")
        if self.ssl is None and not self.insecure_plaintext_connection and not is_loopback_host(self.host):
            raise ValueError(
                "host is not loopback, so TLS is required: add ssl (ca_bundle: the server's CA file, or ca_pem: "
                "a secret reference to its PEM text) or, "
                "accepting that ticket data and the password cross the network in clear, set "
                "insecure_plaintext_connection: true")
        return self

class SalesforceDestinationConfig(_Strict):
    type: Literal["salesforce"] = "salesforce"
    # Either a login (username + password [+ security token]) or an OAuth client (client id + secret).
    instance_url: Optional[DestinationUrl] = None
    login_domain: LoginDomain = "login"  # "login", "test", "<name>.my", or a host for a local emulator
    username: Optional[str] = None
    password: Optional[SecretRef] = None
    security_token: Optional[SecretRef] = None
    consumer_key: Optional[str] = None
    consumer_secret: Optional[SecretRef] = None
    ca_bundle: Optional[LocalPath] = None  # a CA file to trust (the local emulator's certificate)
    api_version: str = Field("62.0", pattern=r"^[0-9]{2,3}\.[0-9]$")
    bulk_threshold: int = Field(2000, ge=1)  # rows per chunk above which Bulk API 2.0 is used
    unmatched_agent_policy: Literal["block", "default_owner"] = "default_owner"
    default_owner_email: Optional[str] = None
    mapping_overrides: Optional[LocalPath] = None  # path of a customer mapping YAML merged over the default
    # a mapped field the org could not prepare: "stop" before loading (default), or "drop" it (flagged per record)
    unprepared_fields: Literal["stop", "drop"] = "stop"
    verify_after_load: bool = True
    body_file_bytes: int = Field(256 * 1024, ge=0)  # a larger message body becomes a file on the Case; 0: never


SourceConfig = Annotated[Union[OsTicketSourceConfig], Field(discriminator="type")]
DestinationConfig = Annotated[Union[SalesforceDestinationConfig], Field(discriminator="type")]


class MigrationConfig(_Strict):
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


_UNION_TAGS = {"source": {"osticket"}, "destination": {"salesforce"}}


def validation_problems(exc: Any) -> list[dict[str, Any]]:
    """A pydantic ValidationError as [{"loc": [...], "msg": ...}], without the input values (which can be
    literal secrets someone pasted into the config)."""
    out = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = list(err.get("loc", ()))
        if len(loc) > 1 and loc[1] in _UNION_TAGS.get(str(loc[0]), ()):
            del loc[1]  # the discriminator's tag pydantic adds to the path
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
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
