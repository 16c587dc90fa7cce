"""The report's pictures as inline SVG text: a root-use timeline, findings by status and
severity per OU, and compliance per framework control.

Pure functions of the report model returning SVG markup: no network, no fonts or scripts, no
``style`` attributes (the HTML report's Content-Security-Policy allows none), only presentation
attributes, so the same text renders in a browser, in its print and in WeasyPrint. Every label
goes through ``markup.h``; a long name is shortened on the picture (ids never are) and given in
full in the mark's ``<title>``. Each chart scales to the width of its container (``viewBox``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scanner.core.audit_report import RootUse, RootUseRow
from scanner.core.frameworks import ControlSummary
from scanner.core.models import Severity, Status
from scanner.report.markup import clip, h

WIDTH = 960
MAX_ROWS = 36  # rows per picture: one fits on an A4 page with room for its heading
FONT = 'font-family="DejaVu Sans, Segoe UI, Helvetica, Arial, sans-serif"'
MONO = 'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace"'
INK, MUTED, LINE = "#1b1f24", "#5b6470", "#d5dae0"

CHANNEL_COLORS = {"console": "#1f4e8c", "api": "#c46a00", "keys": "#7a2e98"}
NO_MFA, FAILED, OTHER = "#b42318", "#3a3f45", "#98a2b3"
FAIL_COLORS = {Severity.CRITICAL: "#6e0d0d", Severity.HIGH: "#b42318",
               Severity.MEDIUM: "#e0533e", Severity.LOW: "#f09282",
               Severity.INFORMATIONAL: "#f7c6bd"}
STATUS_COLORS = {Status.FAIL: "#b42318", Status.ERROR: "#d97706",
                 Status.NOT_ASSESSED: "#7a2e98", Status.MUTED: "#8e7fd6",
                 Status.PASS: "#12805c", Status.NOT_APPLICABLE: "#c3c9d1"}


def _svg(kind: str, height: float, label: str, body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
            f'viewBox="0 0 {WIDTH} {height:g}" width="100%" role="img" '
            f'aria-label="{h(label)}" {FONT} font-size="12" fill="{INK}">'
            f"<title>{h(label)}</title>{body}</svg>")


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: float = 12,
          fill: str = INK, extra: str = "") -> str:
    return (f'<text x="{x:g}" y="{y:g}" text-anchor="{anchor}" font-size="{size:g}" '
            f'fill="{fill}"{" " + extra if extra else ""}>{h(text)}</text>')


def _rect(x: float, y: float, w: float, height: float, fill: str, title: str = "",
          cls: str = "") -> str:
    tip = f"<title>{h(title)}</title>" if title else ""
    klass = f' class="{cls}"' if cls else ""
    return (f'<rect{klass} x="{x:.1f}" y="{y:g}" width="{max(w, 0):.1f}" height="{height:g}" '
            f'fill="{fill}">{tip}</rect>')


def _legend(items: Sequence[tuple[str, str]], y: float = 14) -> tuple[str, float]:
    """Swatches (marks centred on (0, 0)) with their labels, in rows as wide as the chart;
    the markup and the y below the last row."""
    out, x = [], 0.0
    for mark, label in items:
        width = 28 + 7 * len(label)
        if x and x + width > WIDTH:
            x, y = 0.0, y + 18
        out.append(f'<g transform="translate({x + 7:g},{y - 4:g})">{mark}</g>')
        out.append(_text(x + 18, y, label, size=11.5, fill=MUTED))
        x += width
    return f'<g class="legend">{"".join(out)}</g>', y + 20


def _swatch(color: str) -> str:
    return f'<rect x="-6" y="-6" width="12" height="12" rx="2" fill="{color}"/>'


# --- root-use timeline -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Mark:
    at: datetime
    kind: str  # console | api | keys | no_mfa | failed | other | report_only
    title: str


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)


def _event_mark(e: Mapping[str, Any]) -> _Mark | None:
    at = _parse(e.get("eventTime"))
    if at is None:
        return None
    cls, channel = e.get("class"), e.get("channel")
    if cls == "failed_login":
        kind = "failed"
    elif cls == "console_login" and e.get("MFAUsed") is False:
        kind = "no_mfa"
    elif channel in CHANNEL_COLORS:
        kind = str(channel)
    else:
        kind = "other"
    bits = [f"{at:%Y-%m-%d %H:%M} UTC", str(e.get("eventName") or cls or "event"),
            f"channel {channel}" if channel else str(cls or "")]
    if cls == "console_login":
        mfa = e.get("MFAUsed")
        bits.append("MFA used" if mfa is True else "without MFA" if mfa is False
                    else "MFA unknown")
    if e.get("sourceIPAddress"):
        bits.append(f"from {e['sourceIPAddress']}")
    if e.get("errorCode"):
        bits.append(str(e["errorCode"]))
    return _Mark(at, kind, " · ".join(b for b in bits if b))


def _marks(row: RootUseRow) -> list[_Mark]:
    marks = [m for e in row.record.get("events") or [] if isinstance(e, Mapping)
             if (m := _event_mark(e)) is not None]
    last = _parse(row.record.get("last_used"))
    if row.used and last is not None and not any(m.kind not in ("failed", "other")
                                                 for m in marks):
        # Use proven by the credential report alone (password_last_used): no event to show.
        marks.append(_Mark(last, "report_only", f"{last:%Y-%m-%d %H:%M} UTC · last use per the "
                           "credential report; no matching root event in the sources read"))
    return marks


def _shape(kind: str) -> str:
    """The mark for ``kind``, centred on (0, 0)."""
    if kind == "console":
        return f'<circle r="5" fill="{CHANNEL_COLORS["console"]}"/>'
    if kind == "no_mfa":
        return (f'<circle r="7.5" fill="none" stroke="{NO_MFA}" stroke-width="2"/>'
                f'<circle r="4.5" fill="{NO_MFA}"/>')
    if kind == "api":
        return f'<rect x="-4.5" y="-4.5" width="9" height="9" fill="{CHANNEL_COLORS["api"]}"/>'
    if kind == "keys":
        return f'<path d="M0 -6 L6 0 L0 6 L-6 0 Z" fill="{CHANNEL_COLORS["keys"]}"/>'
    if kind == "failed":
        return (f'<path d="M-5 -5 L5 5 M-5 5 L5 -5" stroke="{FAILED}" stroke-width="2.2" '
                'fill="none"/>')
    if kind == "report_only":
        return (f'<circle r="5" fill="#fff" stroke="{CHANNEL_COLORS["console"]}" '
                'stroke-width="1.6" stroke-dasharray="2.5 1.5"/>')
    return f'<path d="M0 -6 L0 6" stroke="{OTHER}" stroke-width="2"/>'


TIMELINE_LEGEND = (("console", "console use (sign-in with MFA)"),
                   ("no_mfa", "console sign-in without MFA"),
                   ("api", "API call (session)"), ("keys", "API call (root access key)"),
                   ("failed", "failed sign-in"), ("report_only", "credential report only"),
                   ("other", "other root event"))


def _ticks(start: datetime, end: datetime, n: int = 7) -> list[datetime]:
    step = max((end - start) / n, timedelta(days=1))
    first = (start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    out, t = [], first
    while t < end:
        out.append(t)
        t += timedelta(days=max(round(step / timedelta(days=1)), 1))
    return out


def timeline_rows(root_use: RootUse) -> list[RootUseRow]:
    """The accounts the timeline shows: root used, then any other with a root event in the
    window (failed sign-ins, unknown use with organization-trail events), in the report's
    order."""
    seen = {r.account.id for r in root_use.used}
    rest = [r for r in (*root_use.unknown, *root_use.not_used)
            if r.account.id not in seen and r.record.get("events")]
    return [*root_use.used, *rest]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """Rows split so that no one picture is taller than a printed page (an SVG cannot break
    across pages)."""
    size = max(size, 1)
    return [items[i:i + size] for i in range(0, len(items), size)] or [items]


def root_timeline(root_use: RootUse, *, max_rows: int = MAX_ROWS) -> list[str]:
    """Accounts as rows, root events as marks on the window's time axis: one picture per
    ``max_rows`` accounts, all on the same axis."""
    rows = timeline_rows(root_use)
    starts = [t for r in root_use.rows if (t := _parse(r.record.get("window_start")))]
    ends = [t for r in root_use.rows if (t := _parse(r.record.get("window_end")))]
    label = (f"Root-use timeline: {len(root_use.used)} account(s) used root in the window; "
             f"{len(rows)} with root activity shown")
    if not rows or not starts or not ends:
        return [_svg("timeline", 40, label,
                     _text(0, 24, "No root use and no root sign-in attempt in the window.",
                           fill=MUTED))]
    start, end = min(starts), max(ends)
    return [_timeline(part, start, end, label) for part in _chunks(rows, max_rows)]


def _timeline(rows: Sequence[RootUseRow], start: datetime, end: datetime, label: str) -> str:
    span = max((end - start).total_seconds(), 1.0)
    legend, top = _legend([(_shape(k), lbl) for k, lbl in TIMELINE_LEGEND])
    left, right, row_h = 250.0, WIDTH - 16.0, 22.0
    top += 14
    plot_w = right - left

    def x_of(t: datetime) -> float:
        return left + plot_w * min(max((t - start).total_seconds() / span, 0.0), 1.0)

    height = top + row_h * len(rows) + 30
    parts = [legend]
    axis_y = top + row_h * len(rows) + 6
    for t in _ticks(start, end):
        x = x_of(t)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6:g}" x2="{x:.1f}" y2="{axis_y:g}" '
                     f'stroke="{LINE}" stroke-width="1"/>')
        parts.append(_text(x, axis_y + 16, f"{t:%b %d}", anchor="middle", size=11, fill=MUTED))
    parts.append(f'<line x1="{left:g}" y1="{axis_y:g}" x2="{right:g}" y2="{axis_y:g}" '
                 f'stroke="{MUTED}" stroke-width="1"/>')
    parts.append(_text(left, top - 12, f"{start:%Y-%m-%d}", size=10.5, fill=MUTED))
    parts.append(_text(right, top - 12, f"{end:%Y-%m-%d} (scan)", anchor="end", size=10.5,
                       fill=MUTED))
    for i, row in enumerate(rows):
        y = top + row_h * i + row_h / 2
        if i % 2 == 0:
            parts.append(_rect(0, y - row_h / 2, WIDTH, row_h, "#f4f6f8"))
        parts.append(f'<g class="row" data-account="{h(row.account.id)}">')
        parts.append(f"<title>{h(row.account.name)} ({h(row.account.id)}) · "
                     f"{h(row.account.ou_path)}</title>")
        parts.append(_text(4, y + 4, clip(row.account.name, 22), size=12))
        parts.append(_text(left - 8, y + 4, row.account.id, anchor="end", size=11,
                           fill=MUTED, extra=MONO))
        for m in sorted(_marks(row), key=lambda m: (m.kind == "no_mfa", m.at)):
            parts.append(f'<g class="mark mark-{m.kind}" transform="translate({x_of(m.at):.1f},'
                         f'{y:g})"><title>{h(m.title)}</title>{_shape(m.kind)}</g>')
        parts.append("</g>")
    return _svg("timeline", height, label, "".join(parts))


# --- stacked bars ----------------------------------------------------------------------------

def _stacked(y: float, x0: float, width: float, height: float,
             segments: Sequence[tuple[int, str, str]]) -> str:
    """One 100 % bar: ``segments`` as (count, colour, tooltip); a count fits inside its
    segment when there is room for it."""
    total = sum(c for c, _, _ in segments)
    if not total:
        return (_rect(x0, y, width, height, "#eef0f3")
                + _text(x0 + 6, y + height / 2 + 4, "no findings", size=11, fill=MUTED))
    out, x = [], x0
    for count, color, tip in segments:
        if not count:
            continue
        w = width * count / total
        out.append(_rect(x, y, w, height, color, f"{tip}: {count}", "seg"))
        if w >= 8 + 7 * len(str(count)):
            dark = color in ("#f09282", "#f7c6bd", "#c3c9d1")
            out.append(_text(x + w / 2, y + height / 2 + 4, str(count), anchor="middle",
                             size=11, fill=INK if dark else "#fff"))
        x += w
    return "".join(out)


_OU_SEGMENTS: tuple[tuple[Status, Severity | None, str], ...] = (
    *((Status.FAIL, s, f"FAIL {s.value}") for s in Severity),
    (Status.ERROR, None, "ERROR"), (Status.NOT_ASSESSED, None, "NOT_ASSESSED"),
    (Status.MUTED, None, "MUTED"), (Status.PASS, None, "PASS"),
    (Status.NOT_APPLICABLE, None, "NOT_APPLICABLE"))


def findings_by_ou(units: Sequence[Mapping[str, Any]], *,
                   max_rows: int = MAX_ROWS) -> list[str]:
    """Per root and OU (its whole subtree): its findings as one 100 % bar, FAIL split by
    severity, then the other statuses; one picture per ``max_rows`` units."""
    label = f"Findings by status and severity in {len(units)} organizational unit(s)"
    return [_ou_bars(part, label) for part in _chunks(units, max_rows)]


def _ou_bars(units: Sequence[Mapping[str, Any]], label: str) -> str:
    left, right, row_h, bar_h = 230.0, WIDTH - 130.0, 24.0, 16.0
    legend, top = _legend([(_swatch(FAIL_COLORS[s]), f"FAIL {s.value}") for s in Severity]
                          + [(_swatch(STATUS_COLORS[s]), s.value)
                             for s in (Status.ERROR, Status.NOT_ASSESSED, Status.MUTED,
                                       Status.PASS, Status.NOT_APPLICABLE)])
    parts = [legend]
    for i, u in enumerate(units):
        y = top + row_h * i
        sev = u["findings"]["by_severity"]
        by_status = u["findings"]["by_status"]
        segments = []
        for status, severity, name in _OU_SEGMENTS:
            if severity is not None:
                count = sev[severity.value][status.value]
                color = FAIL_COLORS[severity]
            else:
                count, color = by_status[status.value], STATUS_COLORS[status]
            segments.append((count, color, f"{u['path']} · {name}"))
        indent = 12 * int(u.get("depth", 0))
        total = sum(by_status.values())
        parts.append(f'<g class="row" data-path="{h(u["path"])}"><title>{h(u["path"])}</title>')
        parts.append(_text(4 + indent, y + bar_h - 3, clip(str(u["name"]), 30 - indent // 7),
                           size=12))
        parts.append(_stacked(y, left, right - left, bar_h, segments))
        parts.append(_text(right + 8, y + bar_h - 3,
                           f"{total} · {by_status['FAIL']} FAIL", size=11.5, fill=MUTED))
        parts.append("</g>")
    height = top + row_h * len(units) + 4
    return _svg("ou", height, label, "".join(parts))


def control_compliance(framework: str, summaries: Sequence[ControlSummary], *,
                       max_rows: int = MAX_ROWS) -> list[str]:
    """One bar per control of ``framework``: its findings by status across the organization,
    with the control's status and PASS / (PASS + FAIL + ERROR)."""
    label = f"{framework}: findings by status for each of {len(summaries)} control(s)"
    return [_control_bars(framework, part, label) for part in _chunks(summaries, max_rows)]


def _control_bars(framework: str, summaries: Sequence[ControlSummary], label: str) -> str:
    left, right, row_h, bar_h = 110.0, WIDTH - 210.0, 22.0, 14.0
    shown = (Status.FAIL, Status.ERROR, Status.NOT_ASSESSED, Status.MUTED, Status.PASS,
             Status.NOT_APPLICABLE)
    legend, top = _legend([(_swatch(STATUS_COLORS[s]), s.value)
                           for s in shown])
    parts = [legend]
    for i, s in enumerate(summaries):
        y = top + row_h * i
        c = s.counts
        decided = c.get(Status.PASS, 0) + c.get(Status.FAIL, 0) + c.get(Status.ERROR, 0)
        pct = f"{100 * c.get(Status.PASS, 0) / decided:.0f}% pass" if decided else "n/a"
        parts.append(f'<g class="row" data-control="{h(s.control)}">'
                     f"<title>{h(framework)} {h(s.control)}: {h(s.status.value)} · rules "
                     f"{h(', '.join(s.rule_ids))}</title>")
        parts.append(_text(4, y + bar_h - 2, s.control, size=12, extra=MONO))
        parts.append(_stacked(y, left, right - left, bar_h,
                              [(c.get(st, 0), STATUS_COLORS[st], f"{s.control} · {st.value}")
                               for st in shown]))
        parts.append(_rect(right + 8, y + 2, 10, 10, STATUS_COLORS[s.status]))
        parts.append(_text(right + 22, y + bar_h - 2,
                           f"{s.status.value.replace('_', ' ')} · {pct}", size=11.5,
                           fill=MUTED))
        parts.append("</g>")
    height = top + row_h * len(summaries) + 4
    return _svg("controls", height, label, "".join(parts))


__all__ = ["control_compliance", "findings_by_ou", "root_timeline", "timeline_rows"]
