"""The core names no connector (issue #11 item 1): pipeline, engines, CLI (and its error classifier), Lambda
handlers, state machines and template look connectors up in hdm.registry by the config's `type`. A new
connector is one folder; if a core file had to name it, this test says where.

EXCEPTIONS lists what is still left, each with its reason, so a later change can remove it (and this test then
fails until the entry goes too: every exception must still match something)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HDM = ROOT / "layers" / "hdm" / "hdm"
CORE = [*sorted((HDM / "pipeline").glob("*.py")), *sorted((HDM / "engines").glob("*.py")), HDM / "cli.py",
        HDM / "errors.py",
        *sorted(ROOT.glob("functions/*/app.py")), *sorted(ROOT.glob("statemachine/*.asl.json")),
        ROOT / "template.yaml"]

# imports of a connector package (strict: no exception allowed)
IMPORT = re.compile(r"\b(?:from|import)\s+hdm\.(?:sources|destinations)\.(?!base\b|tls\b|file_roots\b)\w+")
NAMES = {
    "osticket": re.compile(r"os-?ticket", re.IGNORECASE),
    "salesforce": re.compile(r"sales-?force|sfdc|simple_salesforce", re.IGNORECASE),
    "osTicket table prefix": re.compile(r"\bost_"),
    "Salesforce object name": re.compile(r"\b(?:Case|CaseComment|ContentVersion|ContentDocument\w*|[A-Za-z]\w*__c)\b"),
    "connector error class": re.compile(r"\b(?:DailyLimitExceeded|RequestLimitExceeded|REQUEST_LIMIT_EXCEEDED|"
                                        r"SalesforceDestinationError|OsTicket\w*Error)\b"),
}

# (file relative to the repo, what, a snippet of the line) -> why it is still there
EXCEPTIONS = {
    ("template.yaml", "salesforce", "login.salesforce.com,test.salesforce.com"):
        "the stack parameter AllowedLoginDomains defaults to Salesforce's login hosts (the only destination "
        "with a login domain); a per-destination default needs the stack to know its destinations",
    ("template.yaml", "salesforce", "simple-salesforce's"):
        "the description of that parameter explains the login host the domain expands to",
    ("template.yaml", "salesforce", "https://{login_domain}.salesforce.com"):
        "same description, continued",
    ("template.yaml", "osticket", "hdm/acme/osticket"):
        "an example secret name in the SecretsPrefix parameter's description",
}


def _hits() -> list[tuple[str, str, str]]:
    out = []
    for path in CORE:
        rel = str(path.relative_to(ROOT))
        for line in path.read_text(encoding="utf-8").splitlines():
            for what, pattern in NAMES.items():
                if pattern.search(line):
                    out.append((rel, what, line.strip()))
    return out


def _excepted(hit: tuple[str, str, str]) -> bool:
    return any(hit[0] == f and hit[1] == w and s in hit[2] for f, w, s in EXCEPTIONS)


def test_the_core_files_exist():
    assert all(p.is_file() for p in CORE) and len(CORE) > 15  # the globs found the core


def test_no_core_file_imports_a_connector_package():
    imports = [(str(p.relative_to(ROOT)), m.group(0)) for p in CORE for m in IMPORT.finditer(p.read_text())]
    assert imports == []


def test_no_core_file_names_a_connector_except_the_listed_exceptions():
    unexplained = [h for h in _hits() if not _excepted(h)]
    assert unexplained == [], "\n".join(f"{f}: {w}: {line}" for f, w, line in unexplained)


def test_every_exception_is_still_needed():
    hits = _hits()
    stale = [k for k in EXCEPTIONS if not any(h[0] == k[0] and h[1] == k[1] and k[2] in h[2] for h in hits)]
    assert stale == [], f"remove these exceptions, the core no longer has them: {stale}"
