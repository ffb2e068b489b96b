"""``headroom eval``: check Headroom's claims on your own traffic, offline.

    headroom eval needles CASES_DIR [--json] [--html F] [--only SUBSTR] [--kwargs JSON]
    headroom eval session SESSION.json [--model M] [--json] [--html F]
    headroom eval tools [--data PATH] [--limit N] [--json] [--html F]
    headroom eval answers CASES_DIR --model URL [--model-name M] [--api-key K] [--limit N] [--json] [--html F]

Every subcommand prints a table (``--json``: one JSON object instead) and can write a
self-contained HTML report. ``tools`` and ``answers`` are imported only when run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["add_eval_parser", "main"]

Runner = Callable[[argparse.Namespace, Callable[[int, int], None]], dict[str, Any]]


def _kwargs(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--kwargs must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--kwargs must be a JSON object, e.g. '{\"keep_scale\": 2}'")
    return value


def _outputs(p: argparse.ArgumentParser, check: str | None = None) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object (totals at its top level, 'cases')")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report to FILE")
    if check:
        p.add_argument("--check", action="store_true", help=f"exit 1 when {check} (for CI)")


def failures(name: str, doc: dict[str, Any]) -> list[str]:
    """What ``--check`` fails on, from an eval's totals."""
    def n(key: str) -> int:
        value = doc.get(key)
        return int(value) if isinstance(value, (int, float)) else 0

    found = []
    if name == "needles":
        if n("needles_kept") < n("needles_total"):
            found.append(f"{n('needles_total') - n('needles_kept')} needle(s) lost")
        if n("invalid") or n("errors"):
            found.append(f"{n('invalid')} invalid and {n('errors')} failed case(s)")
        if n("prefix_stable") < n("prefix_tested"):
            found.append(f"{n('prefix_tested') - n('prefix_stable')} case(s) not prefix-stable")
    elif name == "tools":
        if n("broken_pairs") or n("problems"):
            found.append(f"{n('broken_pairs')} broken pair(s), {n('problems')} other problem(s)")
    elif name == "answers" and n("correct_with") < n("correct_without"):
        found.append(f"{n('correct_without') - n('correct_with')} fewer correct answer(s) with compression")
    return found


def _run_needles(args: argparse.Namespace, progress: Callable[[int, int], None]) -> dict[str, Any]:
    from headroom.evals.needles import run_needles

    return run_needles(args.cases_dir, only=args.only, kwargs=args.kwargs, prefix_check=not args.no_prefix_check,
                       progress=progress)


def _run_session(args: argparse.Namespace, progress: Callable[[int, int], None]) -> dict[str, Any]:
    from headroom.evals.session import run_session

    return run_session(args.session, args.model, provider=args.provider, ttl=args.ttl)


def _run_tools(args: argparse.Namespace, progress: Callable[[int, int], None]) -> dict[str, Any]:
    from headroom.evals.tools import run_tools

    doc: dict[str, Any] = run_tools(data=args.data, limit=args.limit, model=args.model, progress=progress)
    return doc


def _run_answers(args: argparse.Namespace, progress: Callable[[int, int], None]) -> dict[str, Any]:
    from headroom.evals.answers import run_answers

    doc: dict[str, Any] = run_answers(args.cases_dir, args.model, model=args.model_name, api_key=args.api_key,
                                      limit=args.limit, progress=progress)
    return doc


def _command(name: str, runner: Runner) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from headroom.evals.report import Progress, render_html, render_json, render_table

        try:
            with Progress(f"eval {name}") as progress:
                doc = runner(args, progress)
        except ImportError as exc:
            sys.stderr.write(f"headroom: eval {name} needs a missing module: {exc}\n")
            return 1
        except OSError as exc:
            sys.stderr.write(f"headroom: {exc}\n")
            return 1
        except (KeyError, ValueError) as exc:
            sys.stderr.write(f"headroom: {exc.args[0] if exc.args else exc}\n")
            return 1
        if args.json:
            render_json(doc, sys.stdout)
        else:
            render_table(doc, sys.stdout, title=f"headroom eval {name}")
        if args.html:
            Path(args.html).write_text(render_html(doc, f"headroom eval {name}"), encoding="utf-8")
            sys.stderr.write(f"wrote {args.html}\n")
        failed = failures(name, doc) if getattr(args, "check", False) else []
        for problem in failed:
            sys.stderr.write(f"headroom eval {name} --check: {problem}\n")
        return 1 if failed else 0

    return run


def add_eval_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register ``eval`` and its subcommands on the ``headroom`` parser's subparsers."""
    ev = sub.add_parser("eval", help="measure savings, needle retention and cost on your own data, offline")
    evs = ev.add_subparsers(dest="eval_command", required=True)

    n = evs.add_parser("needles", help="needle retention, savings, validity, prefix stability and time per case")
    n.add_argument("cases_dir", metavar="CASES", help="a folder of case files, or one case file (.json/.jsonl)")
    n.add_argument("--only", action="append", metavar="SUBSTR", help="only cases whose id contains SUBSTR")
    n.add_argument("--kwargs", type=_kwargs, default={}, metavar="JSON",
                   help="extra keyword arguments for compress(), e.g. '{\"lossless_only\": true}'")
    n.add_argument("--no-prefix-check", action="store_true", help="skip the prefix-stability check")
    _outputs(n, "a needle is lost, a case is invalid or fails, or a prefix is unstable")
    n.set_defaults(func=_command("needles", _run_needles))

    s = evs.add_parser("session", help="dollar cost of a recorded session with and without headroom "
                                       "(prompt caching simulated)")
    s.add_argument("session", help="a session JSON (as for 'headroom cost') or a recorded conversation")
    s.add_argument("--model", help="model to price (default: the session's)")
    s.add_argument("--provider", choices=["anthropic", "openai"], help="prompt-cache rules (default: the model's)")
    s.add_argument("--ttl", default="5m", choices=["5m", "1h", "24h"], help="cache lifetime (default 5m)")
    _outputs(s)
    s.set_defaults(func=_command("session", _run_session))

    t = evs.add_parser("tools", help="tool-call pairing and savings over recorded agent conversations")
    t.add_argument("--data", metavar="PATH",
                   help="BFCL data: a bfcl-eval wheel, an extracted tree or a folder of wheels "
                        "(default: an installed bfcl_eval, else a wheel in ~/.cache/headroom/bfcl)")
    t.add_argument("--limit", type=int, help="at most N conversations")
    t.add_argument("--model", help="model to count tokens for")
    _outputs(t, "a tool call, its arguments or its result pairing changed")
    t.set_defaults(func=_command("tools", _run_tools))

    a = evs.add_parser("answers", help="ask a model each case with and without compression and compare answers")
    a.add_argument("cases_dir", metavar="CASES_DIR")
    a.add_argument("--model", required=True, metavar="URL", help="OpenAI-compatible base URL of the model server")
    a.add_argument("--model-name", help="model name to request")
    a.add_argument("--api-key", help="API key for the model server")
    a.add_argument("--limit", type=int, help="at most N cases")
    _outputs(a, "fewer answers are correct with compression than without")
    a.set_defaults(func=_command("answers", _run_answers))
    return ev


def main(argv: list[str] | None = None) -> int:
    """``python -m headroom.evals.cli ...``: the same as ``headroom eval ...``."""
    parser = argparse.ArgumentParser(prog="headroom")
    add_eval_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["eval", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
