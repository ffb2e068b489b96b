"""Built-in HTML -> readable text (stdlib ``html.parser`` only), tuned for recall.

Scripts, styles, navigation, form controls, asides and page-level headers/footers are skipped
whole; the rest becomes Markdown-like blocks: ``#`` headings, ``- `` list items,
``| a | b |`` table rows (tables whose cells hold paragraphs are layout, not data, and
read as paragraphs), fenced ``<pre>``. Then boilerplate goes: blocks that are nearly all
link text (menus, "related" lists) unless links are most of the page, and exact repeats of
a block already seen. A ``<form>`` is read (some sites wrap whole pages in one); its
controls are not. One linear pass; the same input always gives the same text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["Extraction", "extract"]

#: Elements skipped with everything inside them, by what they are.
_SKIP = {
    "script": "scripts", "style": "styles", "noscript": "scripts", "template": "scripts",
    "svg": "images", "canvas": "images", "math": "images", "iframe": "embeds", "object": "embeds",
    "nav": "navigation", "aside": "asides",
    "select": "form controls", "button": "form controls", "textarea": "form controls",
    "header": "headers and footers", "footer": "headers and footers", "dialog": "dialogs",
}
#: ``role`` values that mark the same kinds of boilerplate.
_SKIP_ROLES = {"navigation": "navigation", "banner": "headers and footers", "contentinfo": "headers and footers",
               "complementary": "asides", "search": "form controls", "dialog": "dialogs", "menu": "navigation",
               "menubar": "navigation"}
#: Inside these a ``<header>``/``<footer>`` belongs to the content (title, byline).
_CONTENT = frozenset({"article", "main"})
_BLOCK = frozenset("""
address article blockquote body center dd details div dl dt fieldset figcaption figure h1 h2 h3 h4 h5 h6 hr
html li main ol p pre section summary table tbody td tfoot th thead tr ul caption br
""".split())
#: Elements that make a document HTML (anything else unknown in an XML document is a block).
_HTML = frozenset("html head body p div span a table ul ol li h1 h2 h3 h4 h5 h6 article main section".split())
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_WS = re.compile(r"\s+")
#: A block whose text is at least this share link text is a menu or link list.
LINK_DENSE = 0.6


@dataclass
class _Block:
    kind: str  # "h1".."h6", "p", "li", "row", "pre"
    text: str
    link_chars: int = 0
    depth: int = 0


@dataclass
class Extraction:
    """The readable text, its blocks (rendered, with their kinds: ``h1``..``h6``, ``p``,
    ``li``, ``row``, ``pre``) and what was removed."""

    text: str
    blocks: list[str]
    kinds: list[str]
    removed: Counter[str] = field(default_factory=Counter)
    title: str = ""


class _Parser(HTMLParser):
    def __init__(self, keep: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self.keep = keep  # skippable tags read anyway (an earlier pass found one unclosed)
        self.html = False  # seen an HTML element: unknown tags are inline (else XML: blocks)
        self.blocks: list[_Block] = []
        self.removed: Counter[str] = Counter()
        self.buf: list[str] = []
        self.link_chars = 0
        self.skip_tag: str | None = None
        self.skip_depth = 0
        self.open_content = 0
        self.in_link = 0
        self.in_pre = 0
        self.in_title = False
        self.title: list[str] = []
        self.heading: str | None = None
        self.list_depth = 0
        self.in_li = False
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    # -- skipping ------------------------------------------------------------------------
    def _skip_reason(self, tag: str, attrs: list[tuple[str, str | None]]) -> str | None:
        if tag in self.keep:
            return None
        reason = _SKIP.get(tag)
        if reason == "headers and footers" and self.open_content:
            reason = None
        a = dict(attrs)
        role = (a.get("role") or "").strip().lower()
        if reason is None and role in _SKIP_ROLES and not (self.open_content and role in ("banner", "contentinfo")):
            reason = _SKIP_ROLES[role]
        if reason is None and (a.get("aria-hidden") == "true" or "hidden" in a):
            reason = "hidden elements"
        if reason is None and re.search(r"display\s*:\s*none", a.get("style") or ""):
            reason = "hidden elements"
        return reason

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        if tag in _VOID:
            if tag in ("br", "hr"):
                self._flush()
            return
        reason = self._skip_reason(tag, attrs)
        if reason is not None:
            self.removed[reason] += 1
            self.skip_tag, self.skip_depth = tag, 1
            return
        self._open(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_tag is None and tag in ("br", "hr"):
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            return
        self._close(tag)

    # -- structure -------------------------------------------------------------------------
    def _open(self, tag: str) -> None:
        if tag in _HTML:
            self.html = True
        elif not self.html:
            self._flush()  # XML (a feed, a sitemap): every element is its own block
            return
        if tag in _CONTENT:
            self.open_content += 1
        if tag == "title" and not self.title and not self.blocks:
            self.in_title = True
            return
        if tag == "a":
            self.in_link += 1
            return
        if tag == "pre":
            self._flush()
            self.in_pre += 1
            return
        if tag in _BLOCK:
            if tag == "tr":
                self._end_row()
                self.row = []
                return
            if tag in ("td", "th") and self.row is not None:
                self._end_cell()
                self.cell = []
                return
            self._break_row()
            self._flush()
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.heading = tag
            elif tag in ("ul", "ol"):
                self.list_depth += 1
            elif tag == "li":
                self.in_li = True

    def _close(self, tag: str) -> None:
        if not self.html and tag not in _HTML:
            self._flush()
            return
        if tag in _CONTENT:
            self.open_content = max(0, self.open_content - 1)
        if tag == "title":
            self.in_title = False
        elif tag == "a":
            self.in_link = max(0, self.in_link - 1)
        elif tag == "pre":
            self._flush()
            self.in_pre = max(0, self.in_pre - 1)
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "table":
            self._end_row()
            self._flush()
        elif tag in _BLOCK:
            self._flush()
            if tag in ("ul", "ol"):
                self.list_depth = max(0, self.list_depth - 1)
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.heading = None

    def _end_cell(self) -> None:
        if self.cell is not None and self.row is not None:
            self.row.append(_WS.sub(" ", "".join(self.cell)).strip())
        self.cell = None

    def _end_row(self) -> None:
        self._end_cell()
        cells = [c for c in self.row or () if c]
        if len(cells) == 1:  # a one-cell "table" is a box around a paragraph
            self.blocks.append(_Block("p", cells[0], self.link_chars))
            self.link_chars = 0
        elif cells and self.row is not None:
            self.blocks.append(_Block("row", "| " + " | ".join(c.replace("|", "\\|") for c in self.row) + " |",
                                      self.link_chars))
            self.link_chars = 0
        self.row = None

    def _break_row(self) -> None:
        """A block element inside a table cell: the table is layout; its text reads as paragraphs."""
        if self.row is None:
            return
        if self.cell is not None:
            self.buf.extend(self.cell)
        for c in self.row:
            if c:
                self.blocks.append(_Block("p", c))
        self.row = None
        self.cell = None

    def handle_data(self, data: str) -> None:
        if self.skip_tag is not None:
            return
        if self.in_title:
            self.title.append(data)
            return
        if self.in_link:
            self.link_chars += len(data.strip())
        if self.cell is not None:
            self.cell.append(data)
        else:
            self.buf.append(data)

    def _flush(self) -> None:
        if not self.buf:
            self.link_chars = 0
            return
        raw = "".join(self.buf)
        self.buf = []
        if self.in_pre:
            text = raw.strip("\n")
            if text.strip():
                self.blocks.append(_Block("pre", text))
            self.link_chars = 0
            return
        text = _WS.sub(" ", raw).strip()
        if text:
            kind = self.heading or ("li" if self.in_li else "p")
            self.blocks.append(_Block(kind, text, self.link_chars, self.list_depth))
        self.link_chars = 0
        self.in_li = False

    def close(self) -> None:
        super().close()
        self._end_row()
        self._flush()


def _render(b: _Block) -> str:
    if b.kind.startswith("h"):
        return "#" * int(b.kind[1]) + " " + b.text
    if b.kind == "li":
        return "  " * max(0, b.depth - 1) + "- " + b.text
    if b.kind == "pre":
        return "```\n" + b.text + "\n```"
    return b.text


def _boilerplate(blocks: list[_Block], removed: Counter[str]) -> list[_Block]:
    total = sum(len(b.text) for b in blocks) or 1
    links = sum(min(b.link_chars, len(b.text)) for b in blocks)
    dense_ok = links / total > 0.5  # a page of links (an index, results): the links are the content
    out: list[_Block] = []
    seen: set[str] = set()
    for b in blocks:
        if not dense_ok and b.kind in ("p", "li", "row") and b.link_chars >= LINK_DENSE * len(b.text):
            removed["link lists"] += 1  # headings are exempt: they are often self-links (anchors)
            continue
        if b.kind != "row":
            if b.text in seen:
                removed["repeated blocks"] += 1
                continue
            seen.add(b.text)
        out.append(b)
    return out


def _parse(html: str) -> _Parser:
    """Parse; a skipped element left unclosed would hide the rest of the page, so the page
    is parsed again with that tag read (at most a few times, for badly broken pages)."""
    keep: frozenset[str] = frozenset()
    while True:
        parser = _Parser(keep)
        parser.feed(html)
        parser.close()
        if parser.skip_tag is None or len(keep) >= 3:
            return parser
        keep = keep | {parser.skip_tag}


def extract(html: str) -> Extraction:
    """Readable Markdown-like text of ``html`` plus counts of what was left out."""
    parser = _parse(html)
    blocks = _boilerplate(parser.blocks, parser.removed)
    title = _WS.sub(" ", "".join(parser.title)).strip()
    rendered = [_render(b) for b in blocks]
    kinds = [b.kind for b in blocks]
    if title and "h1" not in kinds:
        rendered.insert(0, "# " + title)
        kinds.insert(0, "h1")
    return Extraction("\n\n".join(rendered), rendered, kinds, parser.removed, title)
