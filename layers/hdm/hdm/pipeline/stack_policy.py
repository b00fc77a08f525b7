"""What a deployed stack lets the caller of its trigger API choose.

A migration config sent to the API names hosts, secrets and local paths; the workflow then sends stack
secrets to those hosts and reads those paths. The stack's operator decides which are allowed (stack
parameters, passed to the API function as environment variables); the API refuses anything else before
the config is stored or any secret is read.

Checks find the fields by their type (:mod:`hdm.pipeline.config`'s ``SecretRef``, ``LocalPath``,
``SourceHost``, ``LoginDomain``, ``DestinationUrl``), so a new field of such a type is checked too. Protections
are found the same way: an ``InsecureOptOut`` may not be set and a ``Protection`` may not be turned off.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

from pydantic import BaseModel

from hdm import registry
from hdm.pipeline.config import (
    DESTINATION_URL,
    INSECURE_OPT_OUT,
    LOCAL_PATH,
    LOGIN_DOMAIN,
    PROTECTION,
    SECRET,
    SOURCE_HOST,
    fields_of_kind,
)

# a login domain is a host name, an optional port and an optional path (a local emulator's "127.0.0.1:PORT/login");
# nothing that could change the host of the URL its destination expands it into (capability LOGIN_URL)
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251})(?::[0-9]{1,5})?(?:/[A-Za-z0-9._-]+)*$")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$|^\[?[0-9A-Fa-f:.]+\]?$")
_SECRET_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):secretsmanager:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):secret:"
    r"(?P<name>[A-Za-z0-9/_+=.@-]{1,512})$"
)


def _split(value: Optional[str]) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


@dataclass(frozen=True)
class StackPolicy:
    """The stack's allow lists. Empty lists allow nothing."""

    login_domains: tuple[str, ...] = ()  # host patterns of the login hosts login domains expand to
    source_hosts: tuple[str, ...] = ()  # host or host:port patterns
    local_paths: tuple[str, ...] = ()  # absolute folders under which a config may name a file or folder
    secrets_prefix: Optional[str] = None  # secret names must start with it
    account: Optional[str] = None  # the stack's AWS account and region: secret ARNs must be there
    region: Optional[str] = None
    partition: str = "aws"

    @classmethod
    def from_env(cls, env: Optional[dict[str, str]] = None) -> StackPolicy:
        env = dict(os.environ if env is None else env)
        return cls(
            login_domains=tuple(p.lower() for p in _split(env.get("HDM_ALLOWED_LOGIN_DOMAINS"))),
            source_hosts=tuple(p.lower() for p in _split(env.get("HDM_ALLOWED_SOURCE_HOSTS"))),
            local_paths=tuple(posixpath.normpath(p) for p in _split(env.get("HDM_ALLOWED_LOCAL_PATHS"))
                              if p.startswith("/")),
            secrets_prefix=env.get("HDM_SECRETS_PREFIX") or None,
            account=env.get("HDM_STACK_ACCOUNT") or None,
            region=env.get("HDM_STACK_REGION") or env.get("AWS_REGION") or None,
            partition=env.get("HDM_STACK_PARTITION") or "aws",
        )

    # -- the checks -------------------------------------------------------------------------------
    def problems(self, config: BaseModel) -> list[dict[str, Any]]:
        """Every field the stack does not allow, as [{"loc": [...], "msg": ...}]; empty when all is allowed.

        Only field names and the stack's own settings appear in the messages, never a secret reference's
        target or a value's contents beyond the host or path that was refused.
        """
        out: list[dict[str, Any]] = []

        def refuse(path: str, msg: str) -> None:
            out.append({"loc": path.split("."), "msg": msg})

        for path, ref in fields_of_kind(config, SECRET):
            why = self.secret_problem(str(ref))
            if why:
                refuse(path, why)
        for path, domain in fields_of_kind(config, LOGIN_DOMAIN):
            expand = _login_url(config, path)
            if expand is None:  # never judged by another connector's rule: that is not where it would connect
                refuse(path, "its connector does not say which login host this domain means, so it cannot be allowed")
                continue
            why = self.login_domain_problem(str(domain), expand)
            if why:
                refuse(path, why)
        for path, url in fields_of_kind(config, DESTINATION_URL):
            why = self.url_problem(str(url))
            if why:
                refuse(path, why)
        for path, host in fields_of_kind(config, SOURCE_HOST):
            port = _sibling(config, path, "port")
            why = self.source_host_problem(str(host), port)
            if why:
                refuse(path, why)
        for path, local in fields_of_kind(config, LOCAL_PATH):
            why = self.local_path_problem(str(local))
            if why:
                refuse(path, why)
        for path, opted_out in fields_of_kind(config, INSECURE_OPT_OUT):
            if opted_out:
                refuse(path, "switches a protection off and cannot be chosen through the trigger API")
        for path, on in fields_of_kind(config, PROTECTION):
            if on is not True:
                refuse(path, "is a protection that cannot be switched off through the trigger API")
        return out

    def secret_problem(self, ref: str) -> Optional[str]:
        m = _SECRET_ARN.match(ref)
        if not m:
            return "must be a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)"
        if not self.account or not self.region:
            return "the stack's account and region are unknown (HDM_STACK_ACCOUNT, HDM_STACK_REGION): no ARN is allowed"
        if (m["partition"], m["region"], m["account"]) != (self.partition, self.region, self.account):
            return f"must name a secret of this stack's account and region ({self.account}, {self.region})"
        if self.secrets_prefix and not m["name"].startswith(self.secrets_prefix):
            return f"must name a secret under {self.secrets_prefix}"
        if ".." in m["name"].split("/"):
            return "must not contain '..' in the secret name"
        return None

    def login_domain_problem(self, domain: str, login_url: Optional[Callable[[str], str]] = None) -> Optional[str]:
        """Whether the login host ``domain`` expands to (``login_url``: its connector's LOGIN_URL capability) is
        allowed; without ``login_url``, allowed when the expansion of any registered connector offering one is."""
        if not _DOMAIN.match(domain):
            return "is not a login domain (a host name such as 'login', 'test' or '<name>.my')"
        expansions = [login_url] if login_url else _login_urls()
        if not expansions:
            return "no registered connector says which login host this domain means"
        problems = [self._host_allowed(urlsplit(expand(domain)), "login host") for expand in expansions]
        return None if None in problems else problems[0]

    def url_problem(self, url: str) -> Optional[str]:
        try:
            target = urlsplit(url)
            target.port  # noqa: B018 - raises on a bad port
        except ValueError:
            return "is not a URL"
        if target.scheme != "https" or not target.hostname or target.username or target.password:
            return "must be an https URL without credentials"
        return self._host_allowed(target, "host")

    def _host_allowed(self, target: Any, what: str) -> Optional[str]:
        host = (target.hostname or "").lower()
        netloc = f"{host}:{target.port}" if target.port else host
        if any(fnmatch.fnmatchcase(netloc, pattern) for pattern in self.login_domains):
            return None
        allowed = ", ".join(self.login_domains) or "none"
        return f"{what} {netloc} is not allowed by this stack (AllowedLoginDomains: {allowed})"

    def source_host_problem(self, host: str, port: Any = None) -> Optional[str]:
        if not _HOST.match(host):
            return "is not a host name or IP address"
        host = host.lower()
        candidates = [host] + ([f"{host}:{port}"] if port is not None else [])
        for pattern in self.source_hosts:
            subject = candidates[-1] if ":" in pattern and port is not None else host
            if fnmatch.fnmatchcase(subject, pattern):
                return None
        allowed = ", ".join(self.source_hosts) or "none"
        return f"source host {candidates[-1]} is not allowed by this stack (AllowedSourceHosts: {allowed})"

    def local_path_problem(self, path: str) -> Optional[str]:
        if not path.startswith("/") or posixpath.normpath(path) != path.rstrip("/") or "\x00" in path:
            return "must be an absolute, normalised path (no '..', no '//')"
        for root in self.local_paths:
            if path == root or path.startswith(root.rstrip("/") + "/"):
                return None
        allowed = ", ".join(self.local_paths) or "none"
        return f"local path {path} is not allowed by this stack (AllowedLocalPaths: {allowed})"


def _login_urls() -> list[Callable[[str], str]]:
    found = (c.capability(registry.LOGIN_URL) for kind in registry.KINDS for c in registry.connectors(kind).values())
    return [f for f in found if f is not None]


def _login_url(config: BaseModel, path: str) -> Optional[Callable[[str], str]]:
    """The LOGIN_URL capability of the connector whose config holds the field at ``path`` (``destination.…``):
    the first model on the way down with a registered ``type``."""
    obj: Any = config
    for part in path.split(".")[:-1]:
        obj = getattr(obj, part, None)
        kind = part if part in registry.KINDS else None
        if kind and isinstance(getattr(obj, "type", None), str):
            try:
                return registry.get(kind, obj.type).capability(registry.LOGIN_URL)
            except registry.UnknownConnector:
                return None
    return None


def _sibling(model: BaseModel, path: str, name: str) -> Any:
    """The value of field ``name`` beside the field at dotted ``path`` (the source's port beside its host)."""
    obj: Any = model
    for part in path.split(".")[:-1]:
        obj = getattr(obj, part, None)
    return getattr(obj, name, None)
