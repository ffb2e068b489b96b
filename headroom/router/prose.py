"""The general shapes: source code (and its language), Markdown and plain prose."""

from __future__ import annotations

import re

from headroom.kinds import Detection, Kind

# --- code, markdown, prose -----------------------------------------------------------------

_FIRST = re.compile(r"\s*([#@]?\w+|#!?\[|[}\])]|//|/\*|\*/?|#!)")
_Rule = tuple[str, int, "re.Pattern[str] | None"]


def _rules(spec: dict[str, str]) -> dict[str, list[_Rule]]:
    """``{"words": "lang weight [regex] | ..."}`` -> leading word -> (language, weight, condition)."""
    out: dict[str, list[_Rule]] = {}
    for words, rules in spec.items():
        parsed: list[_Rule] = []
        for rule in rules.split(" | "):
            lang, weight, *cond = rule.split(" ", 2)
            parsed.append((lang, int(weight), re.compile(cond[0]) if cond else None))
        out.update(dict.fromkeys(words.split(), parsed))
    return out


_JS_DECL = r"^\w+ (?:\w+|\{[^}]*\}|\[[^\]]*\]) = "
_TS_MEMBER = r"^\w+ (?:readonly )?\w+[?!]?:"
#: Leading word of a line -> language evidence, when the (stripped) line matches the condition.
_STARTS = _rules({
    "def": r"python 3 ^def \w+\(", "elif": "python 3", "raise": "python 2", "yield lambda": "python 1",
    "class": r"python 3 :\s*$ | java 2 \{\s*$", "except finally with": r"python 2 :\s*$",
    "try": "python 2 ^try:", "else": "python 1 ^else:", "if": r"python 1 [^:]:\s*$",
    "for": r"python 1 ^for .* in .*:\s*$", "from": r"python 3 ^from [\w.]+ import ",
    "import": r"python 3 ^import [\w.]+(?: as \w+)?(?:, [\w.]+)*\s*$ | java 3 ^import [\w.]+\*?;$ | "
    r"javascript 2  from ['\"]|^import ['\"{] | typescript 4 ^import type  | go 3 ^import (?:\(|\"|\w+ \")",
    "package": r"go 4 ^package \w+\s*$ | java 4 ^package [\w.]+;", "func defer": "go 3", "go": r"go 2 ^go \w",
    "type": r"go 4  (?:struct|interface)\s*\{ | typescript 4 ^type \w+(?:<.*>)? =",
    "interface": r"typescript 4 ^interface \w+.*\{\s*$", "fn trait #![": "rust 3", "impl": "rust 4",
    "pub": r"rust 3 ^pub(?:\([\w:]+\))? (?:fn|struct|enum|trait|mod|use|const|type|unsafe|async)\b",
    "use": r"rust 3 ::.*;$", "#[": "rust 2", "mod": "rust 2 ;$", "match": r"rust 1 \{$",
    "let": rf"rust 2 ^let (?:mut )?\w+(?:: .+)? = .*;$ | javascript 1 {_JS_DECL}",
    "const var": f"javascript 2 {_JS_DECL}", "function": "javascript 3", "module": r"javascript 3 ^module\.exports",
    "export": "javascript 2 | typescript 4 ^export (?:declare|interface|type|enum|abstract) ",
    "declare": "typescript 4", "readonly": "typescript 3",
    "public private": rf"java 3 \w\s*\(|^private (?:static )?final  | typescript 3 {_TS_MEMBER}",
    "protected": rf"java 3 \w\s*\( | typescript 3 {_TS_MEMBER}", "@Override": "java 3", "throws": "java 2",
    "#include namespace": "other 4", "#define #ifdef #ifndef #endif #pragma esac SELECT CREATE INSERT": "other 3",
    "using": "other 4 ;$", "fun": r"other 3 \(", "val": "other 2  = ", "fi done then end": r"other 3 ^\w+$",
})
#: Substring -> language evidence, counted over the whole sample.
_CONTAINS: tuple[tuple[str, str, int], ...] = (
    ("self.", "python", 1), ('"""', "python", 2), ("None", "python", 1), ("__init__", "python", 2),
    ("require(", "javascript", 3), ("=>", "javascript", 1), (" === ", "javascript", 2), (" !== ", "javascript", 2),
    ("console.", "javascript", 2), ("use strict", "javascript", 3), ("undefined", "javascript", 1),
    (".prototype.", "javascript", 2), ("typeof ", "javascript", 2), ("this.", "javascript", 1),
    (":=", "go", 1), ("err != nil", "go", 3), ("fmt.", "go", 2), (" nil", "go", 1),
    ("let mut ", "rust", 3), ("&self", "rust", 3), ("&mut ", "rust", 2), ("-> Result", "rust", 2),
    ("-> Option", "rust", 2), ("Some(", "rust", 1), ("usize", "rust", 2), ("println!(", "rust", 2),
    ("System.out", "java", 2), ("String[]", "java", 2), (" throws ", "java", 3), ("@Override", "java", 1),
    ("static final ", "java", 2), ("private final ", "java", 2), ("std::vector", "other", 2), ("nullptr", "other", 2),
    ("printf(", "other", 2), ("<?php", "other", 40), ("$this->", "other", 4))
#: Leading words that make a code line on their own (they rarely start a line of prose).
_CODE_WORDS = frozenset(
    "def elif from func fn let const var function impl struct enum interface async pub yield raise void namespace "
    "public private protected static package use import #include #define #ifdef #ifndef #endif #[ #![ @Override "
    "} ] ) // /* */ #! except finally try module export defer return fi done esac echo local "
    "SELECT INSERT CREATE ALTER DROP UPDATE DELETE GRANT BEGIN COMMIT".split())
_CODE_END = (";", "{", "}", "(", "[", "):", "; then", "; do", "\\", ",", "=")
_CODE_CHARS = re.compile(r"[=&|$>(]")  # a cheap gate before the substring checks below
_CODE_INNER = (" = ", "==", "!=", "=>", " -> ", ":=", "&&", "||", "();", "){", "$(", "${", '"$', "=$", " | ", "2>&1")
_BLOCK_WORDS = frozenset("if for while with else class def try elif except finally switch case".split())
_JSX = re.compile(r"className=|^\s*</?[A-Za-z][\w.]*(?:\s+\w+=|\s*/?>|$)|^\s*<>")
_TS_HINT = re.compile(  # type annotations, generics, casts
    r"\w[?!]?: (?:string|number|boolean|void|any|unknown|never)\b|\w<[A-Z]\w*(?:\[\])?(?:, ?[A-Z]\w*)*>|"
    r"\w<[^<>()=]+>\(|\(\w+\??: [A-Za-z]|\): [A-Za-z<{\[]|\bas (?:const|string|number|any|unknown)\b")
_FENCE = re.compile(r"(?:```|~~~)(?!~)")
_YAML_KEY = re.compile(r"(\s*)(?:- )?[\w.\-\"']+:(?:\s|$)")
_MD_FIRST = frozenset("#=-~^\"'`*+|>.•0123456789")  # a cheap gate before the two below
_MD_STRUCT = re.compile(r"#{1,6} \S|([=\-~^\"'`#*+])\1{2,}\s*$|```|~~~|\.\. [\w:-]+::|\.\. _[\w-]+:|\s*\|.*\|\s*$|> \S")
_MD_LIST = re.compile(r"\s*(?:[-*+•]|\d+[.)])\s+\S")
_MD_INLINE = re.compile(r"\[[^\]]+\]\([^)]+\)|\*\*\w|``\w|:(?:ref|func|class|meth|doc|pr|issue|attr):`")


def _code_or_prose(rows: list[str]) -> Detection:
    """Code when syntax dominates; markdown/rst when structure shows; otherwise prose.

    Docstrings and ``/* */`` blocks count as code. ``#`` lines, headings, list items and
    table rows count for neither side (a ``#`` line is a heading in markdown and a comment
    in Python, shell, YAML), and fenced or ``::`` blocks inside a document are set aside.
    """
    if rows[0].startswith(("#!/", "#! /")):
        return Detection(Kind.CODE, "python" if "python" in rows[0] else "javascript" if "node" in rows[0] else "other")
    code = skipped = headings = embedded = struct = lists = yaml = nested = markup = jsx = 0
    block = doc = fence = literal = False  # in a /* */ file; docstring; ``` block; rst literal block
    scores = dict.fromkeys(("python", "javascript", "typescript", "go", "rust", "java", "other"), 0)
    for row in rows:
        line = row.strip()
        marker = row[0] in "`~" and _FENCE.match(row) is not None
        if not doc and (marker or fence or (literal and row[0].isspace())):
            fence = fence != marker
            embedded += 1
            continue
        literal = line.endswith("::") or (line.startswith(".. ") and "::" in line)  # rst literal / directive body
        quotes = line.count('"""') + line.count("'''") if "'" in line or '"' in line else 0
        if doc or quotes:
            code += 1
            doc = doc != (quotes % 2 == 1)
            continue
        m = _FIRST.match(row)
        word = m.group(1) if m else ""
        block = block or word == "/*"
        for lang, weight, cond in _STARTS.get(word, ()):
            if cond is None or cond.search(line):
                scores[lang] += weight
        if ":" in row and (y := _YAML_KEY.match(row)):
            yaml, nested = yaml + 1, nested + (y.group(1) != "")
        markup += line[0] == "<" and line[-1] == ">"
        if word == "*" and block:
            code += 1
        elif line[0] == "#" and word[1:] not in ("include", "define", "!", "[", "!["):
            skipped += 1
            headings += _MD_STRUCT.match(row) is not None
        elif line[0] in _MD_FIRST and _MD_STRUCT.match(row):
            struct += 1
        elif line[0] in _MD_FIRST and _MD_LIST.match(row):
            lists += 1
        else:
            if ("<" in line or ":" in line) and word not in ("//", "/*", "def"):
                scores["typescript"] += 2 * len(_TS_HINT.findall(line))
                jsx += _JSX.match(row) is not None
            code += (word in _CODE_WORDS or (word in _BLOCK_WORDS and line[-1] == ":") or line.endswith(_CODE_END)
                     or (_CODE_CHARS.search(line) is not None and any(s in line for s in _CODE_INNER)))
    body = len(rows) - embedded - skipped
    n = body - struct - lists
    if n < (5 if embedded else 1):
        return Detection(Kind.MARKDOWN if embedded or struct + lists >= 2 else Kind.TEXT)
    joined = "\n".join(rows)
    for sub, lang, weight in _CONTAINS:
        scores[lang] += weight * joined.count(sub)
    evidence = max(scores.values())
    strong = not embedded and (evidence >= max(12, 0.3 * body) or (code >= 0.3 * n and evidence >= 0.5 * n))
    if code >= 0.5 * n or strong:
        return Detection(Kind.CODE, _language(scores, jsx))
    if not embedded and ((yaml >= 0.6 * body and nested >= 2) or markup >= 0.6 * body):
        return Detection(Kind.CODE, "other")  # YAML, XML and friends: config and data files
    inline = sum(1 for r in rows if _MD_INLINE.search(r))
    if struct + headings + embedded >= 2 or lists >= max(2, 0.1 * n) or inline >= max(2, 0.05 * n):
        return Detection(Kind.MARKDOWN)
    return Detection(Kind.TEXT)


def _language(scores: dict[str, int], jsx: int) -> str:
    """Best-scoring language; JS and TS pool their evidence, TS needs its own (types)."""
    ts, plain = scores.pop("typescript"), scores.pop("javascript")
    best = max(scores, key=lambda k: scores[k])
    if plain and plain + ts > scores[best]:
        if ts < max(4, 0.1 * (plain + ts)):
            return "javascript"
        return "tsx" if jsx >= 3 else "typescript"
    return best if scores[best] >= 3 else "other"
