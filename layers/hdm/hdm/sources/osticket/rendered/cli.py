"""``hdm threads …``: thread-splitting commands (attached to the main ``hdm`` CLI).

``hdm threads validate`` builds the sample review page for sign-off before the full run, from staged
canonical records (``--records``: a migration folder or an extract folder) and/or rendered osTicket
pages (``--html``: one ``<ticket id>.html`` per ticket, split with the rendered-HTML path).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hdm.localfiles import write_private
from hdm.sources.osticket.rendered.pages import load_rendered_threads
from hdm.threads.confidence import DEFAULT_THRESHOLD, should_hold
from hdm.threads.review import build_review_page, load_approvals, load_staged_threads, select_sample


@click.group()
def threads() -> None:
    """Thread splitting: review and sign-off."""


@threads.command()
@click.option("--records", "records_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Staged canonical records: a migration folder, its stage/extract folder, or *.jsonl[.gz] files.")
@click.option("--html", "html_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Rendered osTicket pages, one <ticket id>.html per ticket (the rendered-HTML path).")
@click.option("--page-kind", type=click.Choice(["auto", "staff", "portal", "print"]), default="auto", show_default=True)
@click.option("--version", "osticket_version", default="1.18", show_default=True, help="osTicket version of the pages.")
@click.option("--display-tz", default=None, help="Timezone the pages were rendered in (needed for print views).")
@click.option("--sample", "sample_size", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=DEFAULT_THRESHOLD, show_default=True)
@click.option("--approvals", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="File of approved ticket keys, one per line.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("thread-review.html"),
              show_default=True)
@click.option("--fail-on-hold", is_flag=True, help="Exit with status 3 when any ticket is held.")
def validate(records_dir: Path | None, html_dir: Path | None, page_kind: str, osticket_version: str,
             display_tz: str | None, sample_size: int, seed: int, threshold: float, approvals: Path | None,
             out_path: Path, fail_on_hold: bool) -> None:
    """Write the HTML review page of a sample of split threads (internal notes marked in red)."""
    if records_dir is None and html_dir is None:
        raise click.UsageError("give --records and/or --html")
    try:
        staged = load_staged_threads(records_dir) if records_dir is not None else []
        pool = (load_rendered_threads(html_dir, page_kind, osticket_version, display_tz, staged)
                if html_dir is not None else staged)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not pool:
        raise click.ClickException("no tickets found in the given input")
    approved = load_approvals(approvals)
    sample = select_sample(pool, sample_size, seed)
    write_private(out_path, build_review_page(sample, threshold, approved))  # ticket bodies: mode 0600
    held_all = [t.ticket.key for t in pool if should_hold(t.ticket.key, t.confidence, threshold, approved).hold]
    click.echo(f"{len(sample)} of {len(pool)} tickets sampled → {out_path}")
    click.echo(f"{len(held_all)} of {len(pool)} tickets held below confidence {threshold:.2f}"
               + (f" (first: {', '.join(held_all[:5])})" if held_all else ""))
    if held_all and fail_on_hold:
        sys.exit(3)  # held tickets need a reviewer's approval before the full run
