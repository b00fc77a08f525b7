"""CaseComment bodies: author and time kept in a header; over 4,000 bytes continues in ordered parts."""

from hdm.destinations.salesforce.comment_body import body_text_of, comment_header, split_comment


def _header():
    return comment_header("Jane Doe", "jane@example.com", "2024-01-31T12:00:00Z", "agent", True, "message:42")


def test_header_names_author_email_time_kind_and_source_ref():
    h = _header()
    assert "Jane Doe <jane@example.com>" in h and "2024-01-31 12:00:00 UTC" in h
    assert "Agent note" in h and "ref message:42" in h


def test_a_short_body_is_one_comment_without_part_label():
    parts = split_comment(_header(), "hello")
    assert len(parts) == 1 and "part" not in parts[0].body and parts[0].body.endswith("hello")


def test_a_long_body_continues_in_ordered_parts_and_nothing_is_cut():
    text = ("Lorem ipsum dolor sit amet, ünïcødé ✓ " * 400).strip()
    parts = split_comment(_header(), text, 4000)
    assert len(parts) >= 3
    assert all(len(p.body.encode("utf-8")) <= 4000 for p in parts)
    assert [p.index for p in parts] == list(range(len(parts)))
    assert all(f"(part {i + 1}/{len(parts)})" in p.body for i, p in enumerate(parts))
    assert "".join(body_text_of(p.body) for p in parts) == text


def test_multibyte_text_is_split_on_bytes_without_breaking_a_character():
    text = "日本語" * 3000  # 3 bytes a character
    parts = split_comment(_header(), text, 4000)
    assert all(len(p.body.encode("utf-8")) <= 4000 for p in parts)
    assert "".join(body_text_of(p.body) for p in parts) == text


def test_text_without_spaces_still_splits():
    text = "x" * 9000
    parts = split_comment(_header(), text, 4000)
    assert "".join(body_text_of(p.body) for p in parts) == text


def test_a_comment_is_recognised_by_the_reference_in_its_header_whatever_the_stored_line_endings():
    from hdm.destinations.salesforce.comment_body import comment_header, comment_ref, split_comment

    header = comment_header("Ann · ref message:9", None, "2024-01-31T12:00:00Z", "agent", False, "message:42")
    parts = split_comment(header, "word " * 2000)
    assert [comment_ref(p.body) for p in parts] == [f"message:42#{i}" for i in range(len(parts))]
    single = split_comment(header, "hello\nworld")[0].body
    assert comment_ref(single.replace("\n", "\r\n") + "  \r\n") == comment_ref(single) == "message:42#0"
    assert comment_ref(header + " \t") == "message:42#0"
    assert comment_ref("a comment someone typed in the org") is None and comment_ref(None) is None


def test_comment_bodies_use_one_line_ending_so_a_bulk_job_never_fails_on_crlf():
    parts = split_comment("Ann · 2024-01-01 · ref message:1", "line one\r\nline two\rline three\n", 4000)
    assert all("\r" not in p.body for p in parts)
    assert "line one\nline two\nline three" in parts[0].body


def _best_seconds(fn, repeat: int = 3) -> float:
    import time

    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def test_splitting_is_linear_a_16_mib_body_costs_about_16_times_a_1_mib_body():
    # the old splitter re-encoded the remaining text for every part: 16 MiB took ~680x the time of 1 MiB
    line = "The quick brown fox jumps over the lazy dog, ünïcødé ✓ and all.\n"
    small = line * (1024 * 1024 // len(line.encode()))
    big = small * 16
    header = _header()
    parts = split_comment(header, big)
    assert "".join(body_text_of(p.body) for p in parts) == big
    assert all(len(p.body.encode("utf-8")) <= 4000 for p in parts)
    # best of several runs each, so a busy machine's pauses do not count; linear is ~16x, quadratic was ~680x
    t_small = _best_seconds(lambda: split_comment(header, small), 9)
    t_big = _best_seconds(lambda: split_comment(header, big), 4)
    assert t_big / t_small < 100, f"1 MiB: {t_small:.4f}s, 16 MiB: {t_big:.4f}s (ratio {t_big / t_small:.1f})"
