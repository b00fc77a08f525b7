"""The staff panel (scp/) and the HTTP API of a running osTicket, driven the way a person and a mail server would."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import requests

from hdm_infra.osticket_real.app import ADMIN, Osticket, secret_salt
from hdm_infra.osticket_real.web import TIMEOUT_S, Browser, WebError, find_form, page_errors, parse_forms


class Staff:
    """A logged-in agent session."""

    def __init__(self, ost: Osticket, username: str = ADMIN["username"], password: str = ADMIN["passwd"]) -> None:
        self.ost = ost
        self.web = Browser(ost.url)
        self.web.get("scp/login.php")
        page = self.web.post("scp/login.php", {"do": "scplogin", "userid": username, "passwd": password}).text
        if "logout.php" not in page and "Log Out" not in page:
            raise WebError(f"staff login failed: {page_errors(page) or page[:600]}")
        self.salt = secret_salt(ost)

    # ----- helpers ------------------------------------------------------------------------------------------
    def field_name(self, field_id: int) -> str:
        """The per-session name osTicket gives a built-in form's field (FormField::getFormName)."""
        sid = self.web.http.cookies.get("OSTSESSID", "")
        return hashlib.md5(f"{sid}-field-id-{field_id}-{self.salt}".encode()).hexdigest()[-16:]

    def ajax_get(self, path: str) -> str:
        resp = self.web.http.get(self.web.url("scp/ajax.php/" + path), timeout=TIMEOUT_S,
                                 headers={"X-Requested-With": "XMLHttpRequest"})
        if resp.status_code != 200:
            raise WebError(f"GET ajax {path} -> {resp.status_code}: {resp.text[:500]}")
        return resp.text

    def ajax_post(self, path: str, data: Any, expect: tuple[int, ...] = (200, 201)) -> requests.Response:
        resp = self.web.post("scp/ajax.php/" + path, data=data, ajax=True, expect=(*expect, 400, 422))
        if resp.status_code not in expect:
            raise WebError(f"POST ajax {path} -> {resp.status_code}: {page_errors(resp.text) or resp.text[:800]}")
        return resp

    def ticket_page(self, ticket_id: int) -> str:
        return self.web.get(f"scp/tickets.php?id={ticket_id}").text

    def lock(self, ticket_id: int) -> str:
        self.ticket_page(ticket_id)
        resp = self.ajax_post(f"lock/ticket/{ticket_id}", {})
        return str(json.loads(resp.text).get("code", ""))

    def entry_count(self, ticket_id: int) -> int:
        p = self.ost.prefix
        return int(self.ost.sql(f"SELECT COUNT(*) FROM {p}thread_entry e JOIN {p}thread h ON h.id=e.thread_id "
                                "WHERE h.object_type='T' AND h.object_id=%s", (ticket_id,))[0][0])

    def ticket_post(self, ticket_id: int, data: dict[str, Any], ok: str | None = None) -> str:
        """POST the ticket page's form; success is a new thread entry (or ``ok`` text on the page)."""
        before = self.entry_count(ticket_id)
        data = {"id": str(ticket_id), "lockCode": self.lock(ticket_id), **data}
        page = self.web.post(f"scp/tickets.php?id={ticket_id}", data).text
        if (ok is None and self.entry_count(ticket_id) <= before) or (ok is not None and ok not in page):
            raise WebError(f"ticket {ticket_id} {data.get('a')}: {page_errors(page) or 'no confirmation'}")
        return page

    # ----- admin ----------------------------------------------------------------------------------------------
    def create_api_key(self, note: str = "recorder") -> str:
        self.web.get("scp/apikeys.php?a=add")
        page = self.web.post("scp/apikeys.php?a=add", {"do": "add", "a": "add", "isactive": "1",
                                                        "ipaddr": "127.0.0.1", "can_create_tickets": "1",
                                                        "can_exec_cron": "1", "notes": note}).text
        rows = self.ost.sql(f"SELECT apikey FROM {self.ost.prefix}api_key WHERE ipaddr='127.0.0.1' ORDER BY id DESC")
        if not rows:
            raise WebError(f"API key not created: {page_errors(page)}")
        return str(rows[0][0])

    def save_settings(self, page_path: str, changes: dict[str, str | None]) -> None:
        """Admin > Settings page (e.g. ``emailsettings.php``, ``settings.php?t=tickets``): submit its form with some
        controls changed (None = uncheck)."""
        page = self.web.get(f"scp/{page_path}").text
        form = find_form(page, action=page_path.split("?")[0])
        data = [(k, v) for k, v in form.values() if k not in changes]
        data += [(k, v) for k, v in changes.items() if v is not None]
        page = self.web.post(f"scp/{page_path}", data).text
        if "Successfully updated" not in page and "updated successfully" not in page.lower():
            raise WebError(f"settings {page_path} not saved: {page_errors(page)}")

    def create_agent(self, first: str, last: str, email: str, username: str, dept: str = "Support") -> int:
        """Admin > Agents > Add New Agent (no password: osTicket would mail a welcome link; mail goes nowhere)."""
        page = self.web.get("scp/staff.php?a=add").text
        form = find_form(page, **{"class": "save"})
        data = dict(form.values())
        dept_ctl = next(c for c in form.controls if c.name == "dept_id")
        dept_id = next(o[0] for o in dept_ctl.options if dept.lower() in o[1].lower())
        role_ctl = next(c for c in form.controls if c.name == "role_id")
        role_id = next((o[0] for o in role_ctl.options if "all access" in o[1].lower()),
                       next(o[0] for o in role_ctl.options if o[0].isdigit() and int(o[0]) > 0))
        data.update({"do": "create", "a": "add", "firstname": first, "lastname": last, "email": email,
                     "username": username, "dept_id": dept_id, "role_id": role_id})
        page = self.web.post("scp/staff.php?a=add", data).text
        rows = self.ost.sql(f"SELECT staff_id FROM {self.ost.prefix}staff WHERE username=%s", (username,))
        if not rows:
            raise WebError(f"agent {username} not created: {page_errors(page)}")
        return int(rows[0][0])

    def add_form_fields(self, form_id: int, fields: list[tuple[str, str, str, str]]) -> None:
        """Add fields (label, type, name, visibility) to a custom form through Admin > Manage > Forms."""
        page = self.web.get(f"scp/forms.php?id={form_id}").text
        form = find_form(page, **{"class": "save"})
        data = [(k, v) for k, v in form.values() if not k.startswith(("sort-new-", "label-new-", "type-new-",
                                                                        "name-new-", "visibility-new-"))]
        for i, (label, type_, name, vis) in enumerate(fields):
            data += [(f"sort-new-{i}", ""), (f"label-new-{i}", label), (f"type-new-{i}", type_),
                     (f"name-new-{i}", name), (f"visibility-new-{i}", vis)]
        page = self.web.post(f"scp/forms.php?id={form_id}", data).text
        if "Successfully updated" not in page:
            raise WebError(f"form fields not added: {page_errors(page)}")

    def configure_field(self, field_id: int, settings: dict[str, str]) -> None:
        """Save a field's configuration dialog, changing the controls whose label contains each key."""
        html = self.ajax_get(f"form/field-config/{field_id}")
        form = parse_forms(html)[0]
        data = dict(form.values())
        for label, value in settings.items():
            data[form.by_label(label).name] = value
        self.ajax_post(f"form/field-config/{field_id}", data)

    def create_list(self, name: str, items: list[str]) -> int:
        self.web.get("scp/lists.php?a=add")
        page = self.web.get("scp/lists.php?a=add").text
        form = find_form(page, **{"class": "save"})
        data = dict(form.values())
        data.update({"do": "add", "name": name, "name_plural": name + "s"})
        self.web.post("scp/lists.php?a=add", data)
        rows = self.ost.sql(f"SELECT id FROM {self.ost.prefix}list WHERE name=%s", (name,))
        if not rows:
            raise WebError(f"list {name} not created")
        list_id = int(rows[0][0])
        for item in items:
            html = self.ajax_get(f"list/{list_id}/item/add")
            form = parse_forms(html)[0]
            data = dict(form.values())
            data[form.by_label("Value").name] = item
            self.ajax_post(f"list/{list_id}/item/add", data)
        return list_id

    # ----- ticket actions ---------------------------------------------------------------------------------------
    def reply(self, ticket_id: int, html: str, status_id: str = "") -> None:
        self.ticket_post(ticket_id, {"a": "reply", "response": html, "reply-to": "none", "emailreply": "0",
                                     "reply_status_id": status_id, "draft_id": ""})

    def note(self, ticket_id: int, title: str, html: str, status_id: str = "") -> None:
        self.ticket_post(ticket_id, {"a": "postnote", "title": title, "note": html, "note_status_id": status_id,
                                     "draft_id": ""})

    def add_cc(self, ticket_id: int, user_id: int) -> None:
        self.ticket_post(ticket_id, {"a": "process", "do": "addcc", "user_id": str(user_id)}, "added")

    def dialog(self, path: str, changes: dict[str, str], pick: dict[str, str] | None = None,
               expect: tuple[int, ...] = (201,)) -> requests.Response:
        """Open an ajax dialog, fill controls by label (changes: label -> value; pick: label -> option text)."""
        html = self.ajax_get(path)
        forms = parse_forms(html)
        if not forms:
            raise WebError(f"dialog {path} has no form: {html[:400]}")
        form = forms[0]
        data = form.values()
        override: dict[str, str] = {}
        for label, value in changes.items():
            override[form.by_label(label).name] = value
        for label, text in (pick or {}).items():
            ctl = form.by_label(label, "select")
            match = [o for o in ctl.options if text.lower() in o[1].lower()]
            if not match:
                raise WebError(f"{path}: no option {text!r} in {ctl.options}")
            override[ctl.name] = match[0][0]
        data = [(k, override.pop(k, v)) for k, v in data] + list(override.items())
        return self.ajax_post(path, data, expect=expect)

    def assign(self, ticket_id: int, option: str, comments: str) -> None:
        html = self.ajax_get(f"tickets/{ticket_id}/assign")
        form = parse_forms(html)[0]
        data = form.values()
        sel = form.first("select")
        opt = [o for o in sel.options if option.lower() in o[1].lower()]
        if not opt:
            raise WebError(f"assign: no option {option!r} in {sel.options}")
        area = form.first("textarea")
        data = [(k, opt[0][0] if k == sel.name else (comments if k == area.name else v)) for k, v in data]
        self.ajax_post(f"tickets/{ticket_id}/assign", data)

    def transfer(self, ticket_id: int, dept: str, comments: str) -> None:
        html = self.ajax_get(f"tickets/{ticket_id}/transfer")
        form = parse_forms(html)[0]
        sel = form.first("select")
        opt = [o for o in sel.options if dept.lower() in o[1].lower()]
        if not opt:
            raise WebError(f"transfer: no dept {dept!r} in {sel.options}")
        area = form.first("textarea")
        data = [(k, opt[0][0] if k == sel.name else (comments if k == area.name else v)) for k, v in form.values()]
        self.ajax_post(f"tickets/{ticket_id}/transfer", data)

    def set_status(self, ticket_id: int, status_id: int, comments: str) -> None:
        html = self.ajax_get(f"tickets/{ticket_id}/status/close/{status_id}")
        form = parse_forms(html)[0]
        data = dict(form.values())
        data["status_id"] = str(status_id)
        data["comments"] = comments
        self.ajax_post(f"tickets/{ticket_id}/status", data)

    def edit_entry(self, ticket_id: int, thread_id: int, entry_id: int, body: str) -> None:
        path = f"tickets/{ticket_id}/thread/{entry_id}/edit"
        html = self.ajax_get(path)
        form = parse_forms(html)[0]
        data = dict(form.values())
        area = form.first("textarea")
        data[area.name] = body
        self.ajax_post(path, data)

    def add_task(self, ticket_id: int, title: str, description: str, dept: str = "Support") -> None:
        path = f"tickets/{ticket_id}/add-task"
        html = self.ajax_get(path)
        form = parse_forms(html)[0]
        data = form.values()
        text = [c for c in form.controls if c.tag == "input" and c.type == "text" and c.name]
        area = form.first("textarea")
        override = {text[0].name: title, area.name: description}
        for c in form.controls:
            if c.tag == "select" and "department" in c.label.lower():
                opt = [o for o in c.options if dept.lower() in o[1].lower()]
                if opt:
                    override[c.name] = opt[0][0]
        data = [(k, override.pop(k, v)) for k, v in data] + list(override.items())
        self.ajax_post(path, data)

    def merge(self, parent_number: str, child_numbers: list[str], link: bool = False,
              child_status_id: int = 3) -> None:
        pid = self.ost.sql(f"SELECT ticket_id FROM {self.ost.prefix}ticket WHERE number=%s", (parent_number,))[0][0]
        data: list[tuple[str, str]] = [("tids[]", parent_number)] + [("tids[]", n) for n in child_numbers]
        if link:
            data += [("title", "link"), ("combine", "2")]
            resp = self.web.post(f"scp/ajax.php/tickets/{pid}/link", data=data, ajax=True, expect=(201, 404))
            # osTicket 1.18 answers 404 "Unable to manage ticket" after a successful link (Ticket::merge returns
            # no parent for visual merges); the flags tell whether it worked
            flags = self.ost.sql(f"SELECT flags FROM {self.ost.prefix}ticket WHERE ticket_id=%s", (pid,))[0][0]
            if not int(flags) & 0x10:
                raise WebError(f"link not made: {resp.text[:300]}")
        else:
            data += [("title", "merge"), ("combine", "1"), ("participants", "all"),
                     ("childStatusId", str(child_status_id)), ("parentStatusId", "")]
            self.ajax_post(f"tickets/{pid}/merge", data)


class Api:
    """The ticket HTTP API (api/http.php) with one API key."""

    def __init__(self, ost: Osticket, key: str) -> None:
        self.ost = ost
        self.key = key

    def _post(self, path: str, body: bytes, content_type: str) -> str:
        resp = requests.post(self.ost.url + "api/http.php/" + path, data=body, timeout=TIMEOUT_S,
                             headers={"X-API-Key": self.key, "Content-Type": content_type,
                                      "Expect": ""})
        if resp.status_code != 201:
            raise WebError(f"API {path} -> {resp.status_code}: {resp.text[:500]}")
        return resp.text.strip()

    def ticket(self, payload: dict[str, Any]) -> str:
        """Create a ticket from JSON; returns the ticket number."""
        return self._post("tickets.json", json.dumps(payload).encode(), "application/json")

    def email(self, raw: bytes) -> str:
        """Pipe one raw RFC 822 message through osTicket's mail parser (tickets.email)."""
        return self._post("tickets.email", raw, "message/rfc822")


def ticket_id(ost: Osticket, number: str) -> int:
    rows = ost.sql(f"SELECT ticket_id FROM {ost.prefix}ticket WHERE number=%s", (number,))
    if not rows:
        raise WebError(f"no ticket numbered {number!r}")
    return int(rows[0][0])


def strip_tags(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
