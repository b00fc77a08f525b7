"""The HTML pages hdm writes, as Jinja2 templates rendered with autoescape on.

Every value a template prints is escaped (``autoescape=True``), so a ticket subject, an author name, a flag's
reason or an original field value can never become markup. A template marks a value ``|safe`` only where the
markup is the point and has been made safe before (nh3-sanitised message bodies) or is isolated (the original
osTicket page shown in a sandboxed frame); each such place says why in a comment.

The templates (``*.html.j2``) ship inside the package: pyproject's package-data carries them into a wheel, and
the Lambda layer is the ``layers/hdm`` folder as it is.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

TEMPLATES = ("reconciliation.html.j2", "review.html.j2", "review_original.html.j2", "message_file.html.j2",
             "mapping_review.html.j2")


@cache
def environment() -> Environment:
    """The one template environment: autoescape always on, an unknown name in a template is an error."""
    return Environment(loader=PackageLoader("hdm", "templates"), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, auto_reload=False)


def render(name: str, **context: Any) -> str:
    """Render the template ``name`` (one of :data:`TEMPLATES`) with ``context``."""
    return environment().get_template(name).render(**context)
