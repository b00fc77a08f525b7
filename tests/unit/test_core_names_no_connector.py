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
        HDM / "errors.py", HDM / "registry.py", HDM / "connector_errors.py", HDM / "exitcodes.py",
        *sorted((HDM / "stage").rglob("*.py")), *sorted((HDM / "crosswalk").rglob("*.py")),
        *sorted((HDM / "mapping").glob("*.py")),  # the mapping engine; its pairs/ are per connector pair
        HDM / "model.py", HDM / "sources" / "base.py", HDM / "destinations" / "base.py",
        *sorted((HDM / "http").rglob("*.py")), *sorted(p for p in (HDM / "templates").rglob("*") if p.is_file()
                                                      and p.suffix in (".py", ".j2")),
        *sorted(ROOT.glob("functions/*/app.py")), *sorted(ROOT.glob("statemachine/*.asl.json")),
        ROOT / "template.yaml"]

# The systems of the mission, whether or not their connector is registered yet, plus every registered one.
MISSION_SYSTEMS = ("osticket", "salesforce", "kayako", "kustomer", "thread", "intercom", "export")
# Names that are also ordinary words of the code ("a worker thread", "an uploaded export"): matched only where
# they name the connector (a quoted type, a module path, a pair name, the capitalised product name).
COMMON_WORDS = {"thread", "export"}


def _connector_names() -> set[str]:
    from hdm import registry

    names = set(MISSION_SYSTEMS)
    for kind in registry.KINDS:
        names |= set(registry.connectors(kind))
    return names


def _name_pattern(name: str) -> re.Pattern[str]:
    if name in COMMON_WORDS:
        word = re.escape(name)
        return re.compile(rf"[\"'`]{word}[\"'`]|\b(?:sources|destinations)[./]{word}\b|\b{word}-[a-z]+\.ya?ml"
                          rf"|(?<![.\w-]){word.capitalize()}(?![\w-])(?! (?:pool|safe|id|name))")
    spelled = "-?".join(re.escape(part) for part in re.findall(r"[a-z]+?(?=ticket|force|$)|ticket|force", name))
    return re.compile(rf"{spelled or re.escape(name)}", re.IGNORECASE)


# imports of a connector package (strict: no exception allowed)
IMPORT = re.compile(r"\b(?:from|import)\s+hdm\.(?:sources|destinations)\.(?!base\b|tls\b|file_roots\b)\w+")
NAMES = {
    **{name: _name_pattern(name) for name in sorted(_connector_names())},
    "sfdc": re.compile(r"sfdc|simple_salesforce", re.IGNORECASE),
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


# (folder relative to the repo) -> (names allowed in it, why)
FOLDER_EXCEPTIONS = {
    "layers/hdm/hdm/http/": (
        {"kayako", "kustomer", "intercom"},
        "the HTTP kit is a library of the REST vendors' wire shapes (paging helpers such as kayako_next, "
        "intercom_next, kustomer_has_next, the auth and rate-limit headers they send) that a connector picks "
        "from; nothing in it looks a connector up or dispatches on one, and it names no source or destination "
        "package"),
}


def _hits() -> list[tuple[str, str, str]]:
    out = []
    for path in CORE:
        rel = str(path.relative_to(ROOT))
        allowed = {n for folder, (names, _) in FOLDER_EXCEPTIONS.items() if rel.startswith(folder) for n in names}
        for line in path.read_text(encoding="utf-8").splitlines():
            for what, pattern in NAMES.items():
                if what not in allowed and pattern.search(line):
                    out.append((rel, what, line.strip()))
    return out


def _excepted(hit: tuple[str, str, str]) -> bool:
    return any(hit[0] == f and hit[1] == w and s in hit[2] for f, w, s in EXCEPTIONS)


def test_the_core_files_exist():
    assert all(p.is_file() for p in CORE) and len(CORE) > 40  # the globs found the core
    rel = {str(p.relative_to(ROOT)) for p in CORE}
    for must in ("layers/hdm/hdm/registry.py", "layers/hdm/hdm/exitcodes.py", "layers/hdm/hdm/mapping/loader.py",
                 "layers/hdm/hdm/pipeline/report.py", "layers/hdm/hdm/http/paging.py", "layers/hdm/hdm/model.py"):
        assert must in rel, must


def test_the_names_cover_every_registered_connector_and_the_mission_systems():
    from hdm import registry

    registered = {n for kind in registry.KINDS for n in registry.connectors(kind)}
    assert registered <= set(NAMES) and set(MISSION_SYSTEMS) <= set(NAMES)
    assert NAMES["osticket"].search("an osTicket database") and NAMES["salesforce"].search("Sales-force")
    assert NAMES["thread"].search('type: "thread"') and NAMES["thread"].search("the Thread bundle")
    assert not NAMES["thread"].search("one per worker thread") and not NAMES["export"].search("an uploaded export")


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
