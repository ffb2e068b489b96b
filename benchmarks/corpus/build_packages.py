#!/usr/bin/env python3
"""Build Headroom's own held-out-style cases from registry packages and documents (``cases/pkg_*.json``).

Provenance record: every case below is cut from a released package obtained by name from a
package registry, downloaded and unpacked by this script (PyPI sdists through
``pip download --no-deps --no-binary :all: NAME==VER``, npm tarballs through ``npm pack NAME@VER``,
Debian bookworm packages through ``apt-get download PKG=VER`` + ``dpkg -x``), and the sha256 of
each artifact is checked against the one the committed cases were cut from (``ARTIFACTS``; a
mismatch warns). None of these packages is used by ``../shared/bench``. The download, unpack,
``grep -rn``, ``git diff --no-index`` and message-building helpers are the public corpus's own
(``../shared/bench/build_public.py``), imported rather than copied, so both corpora are made the
same way.

How the tool outputs were made (every output is unmodified real data):

* code: a source file shown ``cat -n`` style by a ``read_file`` tool.
* search: ``grep -rn PATTERN DIR | sort -s -t: -k1,1`` run with LC_ALL=C in the unpacked tree.
* diff: ``git diff --no-index --no-prefix a b`` between two releases copied to a/ and b/ (the whole
  tree, or per file in path order for the files named).
* html: a documentation page as shipped in a Debian doc package, read with ``cat``.
* text: a reST/plain document (``cat``), a man page (``man -P cat -l PAGE | col -b`` with
  MANWIDTH=80), or the first lines of a gzipped changelog (``zcat ... | head -n N``).
* json: a data file as shipped (``cat``), or a ``jq -c`` projection of one (``jq`` from Debian).
* mixed: several of the above in one conversation, in 2-4 tool-result rounds.

Questions, needles and answers were written from the raw data before any compressor saw it.
Requires: pip, npm, apt-get + dpkg (root), git, grep, sort, man + col, zcat, jq, and tiktoken in
the running interpreter (for the token counts that ``score.py`` reports).

    python benchmarks/corpus/build_packages.py [--bench ../shared/bench] [--registry DIR] [--only ID]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
DEFAULT_BENCH = HERE.parents[2] / "shared" / "bench"

Case = dict[str, Any]
Call = tuple[str, dict[str, Any], str]
Step = tuple[str | None, list[Call]]

# (registry, name, version) -> sha256 of the artifact the committed cases were cut from
ARTIFACTS: dict[tuple[str, str, str], str] = {
    ("pypi", "packaging", "24.0"): "eb82c5e3e56209074766e6885bb04b8c38a0c015d0a30036ebe7ece34c9989e9",
    ("pypi", "PyYAML", "6.0.1"): "bfdf460b1736c775f2ba9f6a92bca30bc2095067b8a9d77876d1fad6cc3b4a43",
    ("pypi", "JPype1", "1.5.0"): "425a6e1966afdd5848b60c2688bcaeb7e40ba504a686f1114589668e0631e878",
    ("pypi", "gunicorn", "21.2.0"): "88ec8bff1d634f98e61b9f65bc4bf3cd918a90806c6f5c48bc5603849ec81033",
    ("pypi", "gunicorn", "22.0.0"): "4a0b436239ff76fb33f11c07a16482c521a7e09c1ce3cc293c2330afe01bec63",
    ("pypi", "idna", "3.6"): "9ecdbbd083b06798ae1e86adcbfe8ab1479cf864e4ee30fe4e46a003d12491ca",
    ("pypi", "idna", "3.7"): "028ff3aadf0609c1fd278d8ea3089299412a7a8b9bd005dd08b9f8285bcb5cfc",
    ("pypi", "sqlparse", "0.4.4"): "d446183e84b8349fa3061f0fe7f06ca94ba65b426946ffebe6e3e8295332420c",
    ("pypi", "sqlparse", "0.5.0"): "714d0a4932c059d16189f58ef5411ec2287a4360f17cdd0edd2d09d4c5087c93",
    ("pypi", "tornado", "6.4"): "72291fa6e6bc84e626589f1c29d90a5a6d593ef5ae68052ee2ef000dfd273dee",
    ("pypi", "tornado", "6.4.1"): "92d3ab53183d8c50f8204a51e6f91d18a15d5ef261e84d452800d4ff6fc504e9",
    ("pypi", "Django", "4.2.16"): "6f1616c2786c408ce86ab7e10f792b8f15742f7b7b7460243929cb371e7f1dad",
    ("npm", "commander", "12.0.0"): "e19a54b43aace9fc5dd38eb9550dc69375359ae1ded32be61642730f21928787",
    ("npm", "axios", "1.7.3"): "6351679f41d37ec8abb5e7f50b4ea586d34df9aaa4c5abaed6e084917ab197bd",
    ("npm", "axios", "1.7.4"): "8c9fc3e41e77b38069649b6507ae622ea6b3a892bf2b7f1bbf059c4fd58357dd",
    ("npm", "ws", "8.17.0"): "27fb0ee9c7a7d205265e0db0496e3ac3c539260cfd03a75da90e10e837b2cb7a",
    ("npm", "ws", "8.17.1"): "6e3bcca5e670f05232f8d86abdfe5c3accfc910fbf422a1ed941fe9567e393d3",
    ("npm", "semver", "7.5.1"): "7466d0ee934d67f66045210449c0c38176c237aa6ddef92d72ad8536579e19c7",
    ("npm", "semver", "7.5.2"): "32f78290c12246206449f9a18cf3f7fab44828f06c17448b7e8954ff54ce0a9a",
    ("npm", "world-countries", "5.1.0"): "329eb6ef4099ffb590219c9beb634bf489a5e4b10d8ab0ac52a58ebf7b9f8495",
    ("npm", "node-releases", "2.0.14"): "ac9ec0287a87e8912e2b04007ca22b4f8b385a5c87ed8f338a92e1b1e8a89e5c",
    ("npm", "mime-db", "1.53.0"): "569c499941a9bfad202c078a22f6fbc5d1844e60d21b145fd97e866d15f91b63",
    ("deb", "golang-github-gorilla-mux-dev", "1.8.0-1"):
        "0880a4019fe68496a0e0a749c2948c029e489f49edd448bed2fedaba33f848c2",
    ("deb", "librust-regex-dev", "1.7.1-1"): "9b8c87bb5aa87c0095f4cc36ed829c80e815c2f71337325bd6e25f8de1fba7f7",
    ("deb", "python3.11-doc", "3.11.2-6+deb12u9"): "5b3594189d6ef9a6963ce0347fd307a1cc67620ad697e144db366070e2e146be",
    ("deb", "git-doc", "1:2.39.5-0+deb12u3"): "3c89668a11053a6bafade3de1f611f4613db31e082af63f43d8c5b69ad8795ec",
    ("deb", "nginx-doc", "1.22.1-9+deb12u12"): "8740c4802a2b586b4007f07340e2d1880e79f5394be1938d8686f28eb554e670",
    ("deb", "openssh-client", "1:9.2p1-2+deb12u10"):
        "42c250b8b9110382488c53c066a960bc564ddac2cb9e449f47b6cdbb5fc1cb60",
}

bp: Any = None  # ../shared/bench/build_public.py, imported in main()


class Parts(NamedTuple):
    """What a case function decides; id (its name), kind and format come from the @case line."""

    source: str
    system: str
    question: str
    steps: list[Step]
    needles: list[str]
    answer: str


CASES: dict[str, Callable[[], Case]] = {}


def case(kind: str, fmt: str) -> Callable[[Callable[[], Parts]], Callable[[], Parts]]:
    def register(fn: Callable[[], Parts]) -> Callable[[], Parts]:
        def build() -> Case:
            p = fn()
            out: Case = bp.make(fn.__name__, kind, fmt, p.source, p.system, p.question, p.steps, p.needles,
                                p.answer)
            return out

        CASES[fn.__name__] = build
        return fn

    return register


def one(call: Call) -> list[Step]:
    """A single tool call answered in one round."""
    return [(None, [call])]


def sh(cmd: str, cwd: str, env: dict[str, str] | None = None) -> str:
    """stdout of a real shell pipeline run in CWD with LC_ALL=C (fails loudly)."""
    run_env = {**os.environ, "LC_ALL": "C", **(env or {})}
    p = subprocess.run(cmd, shell=True, cwd=cwd, capture_output=True, env=run_env, check=True)
    return p.stdout.decode("utf-8", "replace")


def src(kind: str, name: str, version: str, what: str) -> str:
    text: str = bp.reg_src(kind, name, version, what)
    return text


def read_numbered(path: str, text: str) -> Call:
    call: Call = bp.read_tool(path, text)
    return call


def pypi(name: str, version: str) -> str:
    """build_public.pypi in a download folder of its own: it finds an archive by name prefix, so with
    tornado-6.4.1.tar.gz beside it, tornado 6.4 would resolve to the 6.4.1 archive."""
    base = bp.REGISTRY
    bp.REGISTRY = os.path.join(base, f"pypi-{name}-{version}")
    try:
        root: str = bp.pypi(name, version)
    finally:
        bp.REGISTRY = base
    return root


def npm(name: str, version: str) -> str:
    root: str = bp.npm(name, version)
    return root


def deb(package: str, version: str, sub: str = "") -> str:
    root: str = bp.deb(package, version)
    return os.path.join(root, sub) if sub else root


def read(root: str, rel: str) -> str:
    text: str = bp.read(root, rel)
    return text


def grep(root: str, args: str, where: str = ".") -> tuple[str, str]:
    cmd, out = bp.grep_rn(root, args, where)
    return str(cmd), str(out)


def diff(old: str, new: str, files: list[str] | None = None) -> str:
    text: str = bp.pkg_diff(old, new, files)
    return text


PY_DOC = "usr/share/doc/python3.11/html/library"
MUX = "usr/share/gocode/src/github.com/gorilla/mux"
REGEX = "usr/share/cargo/registry/regex-1.7.1"


def systems() -> tuple[str, str, str, str]:
    return bp.SYS_CODER, bp.SYS_SRE, bp.SYS_DATA, bp.SYS_WEB


# ---------------------------------------------------------------------------
# code: one source file read with line numbers
# ---------------------------------------------------------------------------

@case("code", "openai")
def pkg_code_py_packaging_prerelease() -> Parts:
    root = pypi("packaging", "24.0")
    rel = "src/packaging/specifiers.py"
    q = ("Two surprises with packaging 24.0: SpecifierSet('<3.1') does not match 3.1.dev0 although that "
         "version sorts below 3.1, and combining two specifier sets with & raises when one was built with "
         "prereleases=True and the other with prereleases=False. Which code decides each?")
    steps = one(read_numbered(rel, read(root, rel)))
    return Parts(src("pypi", "packaging", "24.0", rel),
                 systems()[0], q, steps,
                 ["def _compare_less_than(self, prospective: Version, spec_str: str)",
                  "if not spec.is_prerelease and prospective.is_prerelease:",
                  "def __and__(self, other: Union[",
                  "Cannot combine SpecifierSets with True and False prerelease"],
                 "Specifier._compare_less_than: when the spec itself is not a pre-release and the candidate is, a "
                 "candidate whose base_version equals the spec's is rejected (<3.1 must not match 3.1.dev0, but does "
                 "match 3.0.dev0). SpecifierSet.__and__ copies a prereleases override from whichever side has one, "
                 "and raises ValueError('Cannot combine SpecifierSets with True and False prerelease overrides.') "
                 "when both have different ones.")


@case("code", "anthropic")
def pkg_code_py_yaml_python_tags() -> Parts:
    root = pypi("PyYAML", "6.0.1")
    rel = "lib/yaml/constructor.py"
    q = ("yaml.full_load() on a document containing !!python/object:myapp.jobs.Job fails with \"module "
         "'myapp.jobs' is not imported\" although the module exists, while yaml.unsafe_load() works. Where is "
         "that raised and why does the full loader not import the module? And which attribute names does it "
         "refuse with 'blacklisted key ... in instance state found'?")
    steps = one(read_numbered(rel, read(root, rel)))
    return Parts(src("pypi", "PyYAML", "6.0.1", rel),
                 systems()[0], q, steps,
                 ["def find_python_name(self, name, mark, unsafe=False):",
                  "if module_name not in sys.modules:",
                  "find_python_name(name, mark, unsafe=True)",
                  "return ['^extend$', '^__.*__$']"],
                 "FullConstructor.find_python_name() only imports the module when unsafe=True; otherwise it raises "
                 "ConstructorError('module %r is not imported') if module_name is not in sys.modules. "
                 "UnsafeConstructor overrides find_python_name/find_python_module to pass unsafe=True, so "
                 "unsafe_load imports it. check_state_key() refuses keys matching get_state_keys_blacklist(): "
                 "'^extend$' and '^__.*__$' (dunder names), unless unsafe.")


@case("code", "openai")
def pkg_code_js_commander_excess_args() -> Parts:
    root = npm("commander", "12.0.0")
    rel = "lib/command.js"
    q = ("We added .allowExcessArguments(false) to our deploy subcommand and now a stray word makes the CLI "
         "exit with \"error: too many arguments for 'deploy'. Expected 1 argument but got 2.\" Which method "
         "builds that message and where is it called from, which error code does it carry, and is the check "
         "on by default?")
    steps = one(read_numbered("node_modules/commander/" + rel, read(root, rel)))
    return Parts(src("npm", "commander", "12.0.0",
                 "package/" + rel), systems()[0], q, steps,
                 ["_excessArguments(receivedArgs) {", "commander.excessArguments", "this._allowExcessArguments = true;",
                  "this._excessArguments(this.args);"],
                 "Command._excessArguments(receivedArgs) builds it and calls this.error(message, {code: "
                 "'commander.excessArguments'}); it is called from _checkNumberOfArguments() when there are more "
                 "args than registered arguments and the last one is not variadic. It returns early if "
                 "_allowExcessArguments, which the constructor sets to true, so the check is off by default in v12.")


@case("code", "anthropic")
def pkg_code_ts_commander_deprecations() -> Parts:
    root = npm("commander", "12.0.0")
    rel = "typings/index.d.ts"
    q = ("We compile against commander 12's TypeScript declarations. Which overloads and options of Command are "
         "marked deprecated there, since which major version, and what should we use instead?")
    steps = one(read_numbered("node_modules/commander/" + rel, read(root, rel)))
    return Parts(src("npm", "commander", "12.0.0",
                 "package/" + rel), systems()[0], q, steps,
                 ["since v12, instead use helpCommand", "instead use .argument to add command argument",
                  "since v7, instead use choices or a custom function", "since v7, replaced by hidden",
                  "outputHelp(cb?: (str: string) => string): void;"],
                 "v12: addHelpCommand(nameAndArgs, description) and addHelpCommand(enable) -> use helpCommand(). "
                 "v8: description(str, argsDescription) -> use .argument() with a description. v7: option()/"
                 "requiredOption() with a RegExp -> choices or a custom parse function; outputHelp(cb) and help(cb) "
                 "callbacks; CommandOptions.noHelp -> hidden.")


@case("code", "anthropic")
def pkg_code_go_mux_method_mismatch() -> Parts:
    root = deb("golang-github-gorilla-mux-dev", "1.8.0-1", MUX)
    q = ("With gorilla/mux 1.8 a POST to a route registered with .Methods(\"GET\") gets a 405 with an empty "
         "body, while an unknown path gets a 404. Where does the router decide between the two, and how can we "
         "plug in our own handler for the 405 case? Also, why does a request for /api//users come back as a "
         "redirect?")
    steps = one(read_numbered("mux.go", read(root, "mux.go")))
    return Parts(src("deb", "golang-github-gorilla-mux-dev", "1.8.0-1", MUX + "/mux.go"), systems()[0], q, steps,
                 ["if match.MatchErr == ErrMethodMismatch {", "match.Handler = r.MethodNotAllowedHandler",
                  "w.WriteHeader(http.StatusMethodNotAllowed)", "w.WriteHeader(http.StatusMovedPermanently)"],
                 "Router.Match(): when no route matched but a route failed only on its method, MatchErr is "
                 "ErrMethodMismatch; if Router.MethodNotAllowedHandler is set it is used, otherwise ServeHTTP falls "
                 "back to methodNotAllowedHandler(), which only writes StatusMethodNotAllowed (405). Anything else "
                 "gets NotFoundHandler or http.NotFoundHandler (404). Set router.MethodNotAllowedHandler. /api//users "
                 "is redirected because ServeHTTP cleans the path (unless SkipClean) and answers 301 Moved "
                 "Permanently with a Location header when cleanPath changes it.")


@case("code", "openai")
def pkg_code_rust_regex_replace_names() -> Parts:
    root = deb("librust-regex-dev", "1.7.1-1", REGEX)
    rel = "src/re_unicode.rs"
    q = ("re.replace_all(line, \"$1_old\") gives us just the text around the match: the captured group is "
         "missing. The docs say \"The longest possible name is used.\" What exactly happens with such a "
         "replacement string, what syntax avoids it, and what can we pass to turn $ expansion off entirely "
         "(and does that take a faster path)? Which indexing panics with 'no group named'?")
    steps = one(read_numbered(rel, read(root, rel)))
    return Parts(src("deb", "librust-regex-dev", "1.7.1-1", REGEX + "/" + rel), systems()[0], q, steps,
                 ["${1}a", "pub struct NoExpand<'t>(pub &'t str);", "impl<'t, 'i> Index<&'i str> for Captures<'t>",
                  "if let Some(rep) = rep.no_expansion()"],
                 "$1_old names the group '1_old' (letters, digits, underscores; longest name wins), which does not "
                 "exist, so it is replaced by the empty string. Use braces, ${1}_old. NoExpand(&str) replaces "
                 "literally: its no_expansion() returns Some, and replacen() then uses find_iter without captures "
                 "(fast path). caps[\"name\"] (Index<&str> for Captures) panics 'no group named' for a missing group.")


@case("code", "anthropic")
def pkg_code_java_jpype_lookup() -> Parts:
    root = pypi("JPype1", "1.5.0")
    rel = "native/java/org/jpype/manager/TypeManager.java"
    q = ("How does JPype's TypeManager resolve a class name given as int[][], as java/lang/String, or as "
         "java.util.Map.Entry? A comment there says \"JDK prior versions prior to 9 do not annotate methods that "
         "require special handling\": which method is that in, and which classes does it treat as caller "
         "sensitive on such JDKs?")
    steps = one(read_numbered(rel, read(root, rel)))
    return Parts(src("pypi", "JPype1", "1.5.0", rel),
                 systems()[0], q, steps,
                 ["public Class<?> lookupByName(String name)", "Array.newInstance(cls, new int[dims]).getClass()",
                  "public static boolean isCallerSensitive(Method method)", "java.sql.DriverManager.class"],
                 "lookupByName(): strips trailing [] pairs, resolves the element type and builds the array class with "
                 "Array.newInstance(cls, new int[dims]).getClass(); tries Class.forName, then JNI names with / "
                 "replaced by .; maps primitive names (int -> Integer.TYPE ...); finally retries each dotted suffix "
                 "as an inner class with $. isCallerSensitive(): with the CallerSensitive annotation available it "
                 "checks for @jdk.internal.reflect.CallerSensitive(); otherwise it treats every method of "
                 "java.lang.Class, java.lang.ClassLoader and java.sql.DriverManager as caller sensitive.")


# ---------------------------------------------------------------------------
# search: grep -rn over an unpacked release
# ---------------------------------------------------------------------------

@case("search", "anthropic")
def pkg_search_gunicorn_proxy_eventlet() -> Parts:
    root = pypi("gunicorn", "22.0.0")
    cmd, text = grep(root, "'raise '", "gunicorn")
    q = ("Two problems with our gunicorn 22 deployment: workers with the eventlet worker class refuse to boot, "
         "and behind HAProxy with the PROXY protocol some connections are dropped. Which checks raise for each, "
         "and under which conditions?")
    steps = one(("bash", {"command": f"cd gunicorn-22.0.0 && {cmd}"}, text))
    return Parts(src("pypi", "gunicorn", "22.0.0", f"sdist tree, `{cmd}`"), systems()[0], q, steps,
                 ["eventlet worker requires eventlet 0.24.1 or higher",
                  "raise ForbiddenProxyRequest(self.peer_addr[0])", "protocol '%s' not supported",
                  "raise InvalidProxyLine(line)"],
                 "gunicorn/workers/geventlet.py:12/16 raise RuntimeError('eventlet worker requires eventlet 0.24.1 or "
                 "higher') (import failing or too old). gunicorn/http/message.py raises ForbiddenProxyRequest for a "
                 "peer not allowed to send PROXY lines (line 356), and InvalidProxyLine for a malformed line "
                 "(362/377/383), an unsupported protocol (371) or an invalid port (389/392).")


@case("search", "openai")
def pkg_search_tornado_body_limits() -> Parts:
    root = pypi("tornado", "6.4.1")
    cmd, text = grep(root, "--exclude-dir=test 'raise '", "tornado")
    q = ("Large uploads to our Tornado 6.4.1 server are rejected with 400 Bad Request. Which checks reject an "
         "oversized request body, for a fixed Content-Length and for a chunked body, and what does the IOStream "
         "raise when its read buffer fills up?")
    steps = one(("bash", {"command": f"cd tornado-6.4.1 && {cmd}"}, text))
    return Parts(src("pypi", "tornado", "6.4.1", f"sdist tree, `{cmd}`"), systems()[0], q, steps,
                 ["Content-Length too long", "chunked body too large", "Reached maximum read buffer size"],
                 "tornado/http1connection.py:619 raises HTTPInputError('Content-Length too long') when the declared "
                 "length exceeds max_body_size, and :675 'chunked body too large' for chunked bodies; "
                 "tornado/iostream.py:888 raises StreamBufferFullError('Reached maximum read buffer size').")


@case("search", "anthropic")
def pkg_search_django_upload_limits() -> Parts:
    root = pypi("Django", "4.2.16")
    cmd, text = grep(root, "'DATA_UPLOAD_MAX\\|TooMany\\|TooBig'", "django")
    q = ("A form with about 5,000 checkboxes gets HTTP 400 from our Django 4.2 site. Which limit is hit, what is "
         "its default, where is it enforced for multipart bodies, and where is the exception turned into a 400?")
    steps = one(("bash", {"command": f"cd site-packages && {cmd}"}, text))
    return Parts(src("pypi", "Django", "4.2.16", f"sdist tree, `{cmd}`"), systems()[0], q, steps,
                 ["DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000",
                  "if settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 2 < num_post_keys:",
                  "class TooManyFieldsSent(SuspiciousOperation):",
                  "if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)):"],
                 "DATA_UPLOAD_MAX_NUMBER_FIELDS (default 1000, django/conf/global_settings.py:324). The multipart "
                 "parser raises TooManyFieldsSent (a SuspiciousOperation) at django/http/multipartparser.py:202-203 "
                 "(urlencoded bodies: django/http/request.py:521); django/core/handlers/exception.py:114 turns "
                 "RequestDataTooBig/TooManyFieldsSent/TooManyFilesSent into a 400 response.")


# ---------------------------------------------------------------------------
# diff: git diff --no-index between two releases
# ---------------------------------------------------------------------------

@case("diff", "openai")
def pkg_diff_idna_cve() -> Parts:
    old, new = pypi("idna", "3.6"), pypi("idna", "3.7")
    text = diff(old, new)
    q = ("Our scanner wants idna upgraded from 3.6 to 3.7 (both unpacked into a/ and b/). What security problem "
         "does 3.7 fix, which advisory is it, and which functions in idna/core.py changed for it?")
    steps: list[Step] = [("Diffing the two releases.", [("bash", {"command": "git diff --no-index --no-prefix a b"},
                                                          text)])]
    return Parts(src("pypi", "idna", "3.6", "vs 3.7 (sha256:" + ARTIFACTS[("pypi", "idna", "3.7")][:12]
                     + "), `git diff --no-index --no-prefix a b` over the two sdist trees"), systems()[0], q, steps,
                 ["CVE-2024-3651", "exceptionally long amount of time to process",
                  "def valid_contextj(label: str, pos: int)",
                  "Unknown codepoint adjacent to joiner", "_alabel_prefix + _punycode(label)"],
                 "CVE-2024-3651: specially crafted inputs to encode() could take an exceptionally long time (a DoS). "
                 "core.py: valid_contextj() now breaks out of both joining-type scans at the first non-T character "
                 "instead of scanning the whole label; check_label() drops the try/except ValueError that produced "
                 "'Unknown codepoint adjacent to joiner'; alabel() no longer re-checks empty input and builds "
                 "_alabel_prefix + _punycode(label) directly. The rest is Unicode data (idnadata.py) and packaging.")


@case("diff", "anthropic")
def pkg_diff_sqlparse_ghsa() -> Parts:
    old, new = pypi("sqlparse", "0.4.4"), pypi("sqlparse", "0.5.0")
    text = diff(old, new)
    q = ("sqlparse 0.5.0 is listed as a security upgrade over 0.4.4. Which advisory does it fix, what kind of "
         "attack was it, and how did the code change: what does a caller now get instead of the old failure?")
    steps = one(("bash", {"command": "git diff --no-index --no-prefix a b"}, text))
    return Parts(src("pypi", "sqlparse", "0.4.4", "vs 0.5.0 (sha256:" + ARTIFACTS[("pypi", "sqlparse", "0.5.0")][:12]
                     + "), `git diff --no-index --no-prefix a b` over the two sdist trees"), systems()[0], q, steps,
                 ["GHSA-2m57-hf25-phgg", "except RecursionError as err:", "Maximum recursion depth exceeded",
                  "def test_max_recursion(limit_recursion)"],
                 "GHSA-2m57-hf25-phgg: a denial of service through a RecursionError on deeply nested statements. "
                 "TokenList.flatten() in sqlparse/sql.py now catches RecursionError and raises "
                 "SQLParseError('Maximum recursion depth exceeded') from it; tests/test_regressions.py adds "
                 "test_max_recursion with a lowered recursion limit.")


@case("diff", "openai")
def pkg_diff_gunicorn_cve() -> Parts:
    old, new = pypi("gunicorn", "21.2.0"), pypi("gunicorn", "22.0.0")
    text = diff(old, new)
    q = ("What security fix does gunicorn 22.0.0 bring over 21.2.0 (advisory id), and how does the HTTP parser "
         "now treat a request that carries both Transfer-Encoding and Content-Length, or chunked encoding on "
         "HTTP/1.0? Which setting restores the lenient behaviour?")
    steps: list[Step] = [("Comparing the two sdists (21.2.0 in a/, 22.0.0 in b/).",
                          [("bash", {"command": "git diff --no-index --no-prefix a b"}, text)])]
    return Parts(src("pypi", "gunicorn", "21.2.0", "vs 22.0.0 (sha256:" + ARTIFACTS[("pypi", "gunicorn", "22.0.0")][:12]
                     + "), `git diff --no-index --no-prefix a b` over the two sdist trees"), systems()[0], q, steps,
                 ["CVE-2024-1135", "if self.version < (1, 1):", "if content_length is not None:",
                  "def force_close(self):"],
                 "CVE-2024-1135 (request smuggling). Message.set_body_reader() now calls force_close() and raises "
                 "InvalidHeader('CONTENT-LENGTH') when Transfer-Encoding and Content-Length are both present, and "
                 "InvalidHeader('TRANSFER-ENCODING') for chunked on HTTP versions below 1.1; unknown or stacked "
                 "codings raise UnsupportedTransferCoding. The tolerate_dangerous_framing setting turns the "
                 "CL+TE and HTTP/1.0 refusals off (the connection is still closed).")


@case("diff", "openai")
def pkg_diff_tornado_transfer_encoding() -> Parts:
    old, new = pypi("tornado", "6.4"), pypi("tornado", "6.4.1")
    text = diff(old, new)
    q = ("Summarise what tornado 6.4.1 changes relative to 6.4: what is stricter in HTTP/1 message parsing and "
         "header handling, and which functions or constants carry those changes?")
    steps = one(("bash", {"command": "git diff --no-index --no-prefix a b"}, text))
    return Parts(src("pypi", "tornado", "6.4", "vs 6.4.1 (sha256:" + ARTIFACTS[("pypi", "tornado", "6.4.1")][:12]
                     + "), `git diff --no-index --no-prefix a b` over the two sdist trees"), systems()[0], q, steps,
                 ["def is_transfer_encoding_chunked(headers: httputil.HTTPHeaders) -> bool:",
                  "Unsupported Transfer-Encoding %s", "HTTP_WHITESPACE = ",
                  "Illegal characters (CR or LF) in header"],
                 "Security release (docs/releases/v6.4.1.rst): a new is_transfer_encoding_chunked() in "
                 "http1connection.py rejects any Transfer-Encoding other than chunked ('Unsupported "
                 "Transfer-Encoding') "
                 "and messages with both Transfer-Encoding and Content-Length; httputil.HTTPHeaders now strips only "
                 "HTTP_WHITESPACE (space and tab); header writing rejects CR as well as LF (CR_OR_LF_RE, 'Illegal "
                 "characters (CR or LF) in header'), and curl_httpclient/simple_httpclient refuse CR/LF in headers. "
                 "Also SSLIOStream handles OpenSSL 3.2 error codes and AsyncTestCase can be built without a method.")


# ---------------------------------------------------------------------------
# html: documentation pages from Debian doc packages
# ---------------------------------------------------------------------------

def html_page(package: str, version: str, rel: str) -> tuple[str, str]:
    root = deb(package, version)
    return "/" + rel, read(root, rel)


@case("html", "anthropic")
def pkg_html_python_tempfile() -> Parts:
    path, text = html_page("python3.11-doc", "3.11.2-6+deb12u9", PY_DOC + "/tempfile.html")
    q = ("Our Linux batch job leaves NamedTemporaryFile files behind when the OOM killer takes it down. Is that "
         "expected according to this page? Which directories does tempfile fall back to on Linux when TMPDIR, "
         "TEMP and TMP are unset, and what does TemporaryFile need from the kernel to create a file without a "
         "visible name?")
    steps = one(("bash", {"command": f"cat {path}"}, text))
    return Parts(src("deb", "python3.11-doc", "3.11.2-6+deb12u9", path), systems()[3], q, steps,
                 ["terminated abruptly with SIGKILL", "/var/tmp", "/usr/tmp", "Linux kernel 3.11 or later"],
                 "Yes: on POSIX a process terminated abruptly with SIGKILL cannot delete its NamedTemporaryFiles. "
                 "Without TMPDIR/TEMP/TMP it tries /tmp, /var/tmp and /usr/tmp, then the current directory. "
                 "TemporaryFile uses os.O_TMPFILE when available (Linux kernel 3.11 or later).")


@case("html", "openai")
def pkg_html_git_rebase_backends() -> Parts:
    path, text = html_page("git-doc", "1:2.39.5-0+deb12u3", "usr/share/doc/git-doc/git-rebase.html")
    q = ("Two incidents with git rebase: files added upstream were left behind in a directory that another "
         "branch had renamed, with no warning, and a Ctrl-C left a rebase that git rebase --abort could not "
         "undo. According to this manual page, which rebase backend explains each, and what were the two "
         "backends called before they were renamed?")
    steps = one(("bash", {"command": f"cat {path}"}, text))
    return Parts(src("deb", "git-doc", "1:2.39.5-0+deb12u3", path), systems()[3], q, steps,
                 ["directory rename detection is disabled in the", "safety problems with an ill-timed interrupt",
                  "used to be known as the interactive backend", "as it looks like a verb instead of a noun"],
                 "Both are the apply backend: directory rename detection is disabled in it (the merge backend warns), "
                 "and it has safety problems with an ill-timed interrupt that can leave a rebase that cannot be "
                 "aborted. apply was formerly the am backend (renamed because 'am' looks like a verb), merge was "
                 "formerly the interactive backend.")


@case("html", "anthropic")
def pkg_html_python_zoneinfo() -> Parts:
    path, text = html_page("python3.11-doc", "3.11.2-6+deb12u9", PY_DOC + "/zoneinfo.html")
    q = ("In our slim container ZoneInfo('Europe/Berlin') fails. Per this page, where does zoneinfo look when "
         "the system has no time zone database, how do we make it skip the system data on purpose, and what "
         "happens if we pickle a ZoneInfo that we built from a file object?")
    steps = one(("bash", {"command": f"cat {path}"}, text))
    return Parts(src("deb", "python3.11-doc", "3.11.2-6+deb12u9", path), systems()[3], q, steps,
                 ["first-party PyPI package", "ignore the system data and use the tzdata package",
                  "raises an exception on pickling"],
                 "It falls back to the first-party tzdata package from PyPI (searched after TZPATH); without either, "
                 "ZoneInfoNotFoundError. Set PYTHONTZPATH to an empty string to ignore the system data and use "
                 "tzdata. A ZoneInfo constructed with from_file() raises an exception on pickling (serialize by key "
                 "or wrap it instead).")


# ---------------------------------------------------------------------------
# text: man pages, reST docs, changelogs
# ---------------------------------------------------------------------------

@case("text", "openai")
def pkg_text_ssh_config_keepalive() -> Parts:
    root = deb("openssh-client", "1:9.2p1-2+deb12u10")
    page = "usr/share/man/man5/ssh_config.5.gz"
    text = sh(f"man -P cat -l {page} | col -b", root, {"MANWIDTH": "80", "LC_ALL": "C.UTF-8"})
    q = ("Our ssh sessions over a flaky VPN hang instead of dropping. On this Debian system, what is the default "
         "server-alive interval (and does BatchMode change it), how long would ssh wait before disconnecting if "
         "we set the interval to 15 and leave the count at its default, and which Debian-only option names are "
         "aliases for the interval?")
    steps = one(("bash", {"command": "man ssh_config | col -b"}, text))
    return Parts(src("deb", "openssh-client", "1:9.2p1-2+deb12u10", f"{page}, `man -P cat -l | col -b`, MANWIDTH=80"),
                 systems()[1], q, steps,
                 ["or 300 if the BatchMode option is set", "after approximately 45 seconds",
                  "ProtocolKeepAlives and SetupTimeOut"],
                 "ServerAliveInterval defaults to 0 (no server-alive messages), or 300 if BatchMode is set (Debian-"
                 "specific). ServerAliveCountMax defaults to 3, so with an interval of 15 ssh disconnects after "
                 "approximately 45 seconds. ProtocolKeepAlives and SetupTimeOut are Debian-specific aliases.")


@case("text", "anthropic")
def pkg_text_django_security_urlize() -> Parts:
    root = pypi("Django", "4.2.16")
    rel = "docs/releases/security.txt"
    q = ("From Django's archive of security issues: which issues involved the urlize()/urlizetrunc helpers? "
         "Give each CVE id and its disclosure date.")
    steps = one(("bash", {"command": f"cat {rel}"}, read(root, rel)))
    return Parts(src("pypi", "Django", "4.2.16", rel),
                 systems()[0], q, steps, ["2024-41991", "2024-41990", "2024-38875", "2018-7536"],
                 "CVE-2024-41991 and CVE-2024-41990 (August 6, 2024: DoS in django.utils.html.urlize(), the first also "
                 "AdminURLFieldWidget), CVE-2024-38875 (July 9, 2024: DoS in urlize()), and CVE-2018-7536 (March 6, "
                 "2018: DoS in the urlize and urlizetrunc template filters).")


@case("text", "openai")
def pkg_text_gunicorn_limits() -> Parts:
    root = pypi("gunicorn", "22.0.0")
    rel = "docs/source/settings.rst"
    q = ("Clients with very long URLs and many headers get errors from gunicorn. What is the default maximum "
         "size of the request line and the largest value it accepts, how many header fields are allowed by "
         "default and what is the hard cap? Also, is any SSL setting deprecated, and since when?")
    steps = one(("bash", {"command": f"cat {rel}"}, read(root, rel)))
    return Parts(src("pypi", "gunicorn", "22.0.0", rel),
                 systems()[0], q, steps,
                 ["**Default:** ``4094``", "from 0 (unlimited) to 8190", "can't be larger than", "deprecated:: 20.2"],
                 "limit_request_line defaults to 4094 bytes and accepts 0 (unlimited) to 8190; limit_request_fields "
                 "defaults to 100 and can't be larger than 32768 (limit_request_field_size defaults to 8190). "
                 "ssl_version is deprecated since 20.2 and ignored: use ssl_context.")


@case("text", "anthropic")
def pkg_text_nginx_security() -> Parts:
    root = deb("nginx-doc", "1.22.1-9+deb12u12")
    cmd = "zcat usr/share/doc/nginx-doc/changelog.gz | head -n 1100"
    text = sh(cmd, root)
    q = ("From the nginx changelog below: which releases fixed security problems in ngx_http_mp4_module or in "
         "the DNS resolver? Give the version, its release date and the CVE ids.")
    steps: list[Step] = [(None, [("bash", {"command": "zcat /usr/share/doc/nginx-doc/changelog.gz | head -n 1100"},
                                  text)])]
    return Parts(src("deb", "nginx-doc", "1.22.1-9+deb12u12", f"`{cmd}` (upstream CHANGES)"), systems()[1], q, steps,
                 ["CVE-2022-41741", "19 Oct 2022", "CVE-2021-23017", "25 May 2021", "CVE-2018-16845", "06 Nov 2018"],
                 "1.22.1 (19 Oct 2022): mp4 module crash/memory disclosure, CVE-2022-41741 and CVE-2022-41742. "
                 "1.21.0 (25 May 2021): 1-byte memory overwrite in the resolver, CVE-2021-23017. 1.15.6 (06 Nov 2018): "
                 "mp4 module memory disclosure, CVE-2018-16845 (plus HTTP/2 CVE-2018-16843/16844).")


# ---------------------------------------------------------------------------
# json: data files shipped in npm packages
# ---------------------------------------------------------------------------

@case("json", "openai")
def pkg_json_countries_extremes() -> Parts:
    root = npm("world-countries", "5.1.0")
    cmd = ("jq -c '.[] | {name: .name.common, cca3, capital, region, subregion, area, landlocked, borders}' "
           "countries.json")
    text = sh(cmd, root)
    q = ("From this country list: which landlocked country has the largest area (and how large is it), which "
         "country has the most land borders, and is there any record whose area value cannot be real?")
    steps = one(("bash", {"command": cmd}, text))
    return Parts(src("npm", "world-countries", "5.1.0", f"package/countries.json, `{cmd}` (jq 1.6)"), systems()[2], q,
                 steps, ["Kazakhstan", "2724900", "China", "Svalbard and Jan Mayen"],
                 "Kazakhstan (KAZ) is the largest landlocked country at 2724900 km2; China has the most land borders "
                 "(16, Russia 14); Svalbard and Jan Mayen has area -1, which cannot be real.")


@case("json", "anthropic")
def pkg_json_node_security_releases() -> Parts:
    root = npm("node-releases", "2.0.14")
    rel = "data/processed/envs.json"
    q = ("In this Node.js release list, which 16.x and 18.x releases are flagged as security releases, on which "
         "dates, and which V8 version did Node 20.0.0 ship with?")
    steps = one(("bash", {"command": f"cat node_modules/node-releases/{rel}"}, read(root, rel)))
    return Parts(src("npm", "node-releases", "2.0.14",
                 "package/" + rel), systems()[2], q, steps,
                 ["16.6.0", "2021-07-29", "16.16.0", "18.5.0", "2022-07-06", "11.3.244.4"],
                 "16.6.0 (2021-07-29), 16.16.0 (2022-07-07) and 18.5.0 (2022-07-06) are flagged security: true; "
                 "Node 20.0.0 (2023-04-17) shipped V8 11.3.244.4.")


@case("json", "openai")
def pkg_json_mime_lookup() -> Parts:
    root = npm("mime-db", "1.53.0")
    q = ("Our upload service needs the media types mime-db assigns to .webmanifest, .opus and .jxl files. "
         "Which types are they, and is each marked compressible?")
    steps = one(("read_file", {"path": "node_modules/mime-db/db.json"}, read(root, "db.json")))
    return Parts(src("npm", "mime-db", "1.53.0", "package/db.json"),
                 systems()[2], q, steps, ["application/manifest+json", "audio/ogg", "image/jxl"],
                 ".webmanifest -> application/manifest+json (compressible: true, charset UTF-8); .opus -> audio/ogg "
                 "(with oga, ogg, spx; compressible: false); .jxl -> image/jxl (no compressible flag).")


# ---------------------------------------------------------------------------
# mixed: several tool outputs, several tool-result rounds
# ---------------------------------------------------------------------------

@case("mixed", "openai")
def pkg_mixed_semver_redos() -> Parts:
    old, new = npm("semver", "7.5.1"), npm("semver", "7.5.2")
    gcmd, gtext = grep(new, "'MAX_LENGTH\\|MAX_SAFE_COMPONENT_LENGTH\\|safeRe'")
    q = ("npm audit flags semver 7.5.1 for a regular-expression denial of service in range parsing. What did "
         "7.5.2 change to fix it, which modules switched to the new regexes, and what length limits apply to "
         "versions and numeric components?")
    steps: list[Step] = [
        ("Searching the 7.5.2 package first.", [("bash", {"command": f"cd node_modules/semver && {gcmd}"}, gtext)]),
        (None, [read_numbered("node_modules/semver/internal/re.js", read(new, "internal/re.js"))]),
        ("Now the diff against 7.5.1 (a/ = 7.5.1, b/ = 7.5.2).",
         [("bash", {"command": "git diff --no-index --no-prefix a b"}, diff(old, new))]),
    ]
    return Parts(src("npm", "semver", "7.5.2", f"`{gcmd}` + internal/re.js + `git diff --no-index` vs 7.5.1 (sha256:"
                     + ARTIFACTS[("npm", "semver", "7.5.1")][:12] + ")"), systems()[0], q, steps,
                 ["prevent regex dos issues", "const safeRe = exports.safeRe = []", "MAX_LENGTH = 256",
                  "MAX_SAFE_COMPONENT_LENGTH = 16", "version is longer than"],
                 "7.5.2 builds a second regex set, safeRe, in internal/re.js's createToken by replacing greedy \\s* "
                 "with \\s{0,1} and \\s+ with \\s (to prevent regex DoS); Range/Comparator now collapse whitespace "
                 "first, and classes/comparator.js, classes/range.js, classes/semver.js and functions/coerce.js "
                 "import safeRe as re. Versions are limited to MAX_LENGTH = 256 characters and numeric components "
                 "in coercion to MAX_SAFE_COMPONENT_LENGTH = 16 digits.")


@case("mixed", "anthropic")
def pkg_mixed_ws_upgrade_crash() -> Parts:
    old, new = npm("ws", "8.17.0"), npm("ws", "8.17.1")
    gcmd, gtext = grep(new, "abortHandshake", "lib")
    q = ("Our ws 8.17.0 server process crashed on a handshake request that reached it without an Upgrade header "
         "(a scanner sending lots of headers). Does 8.17.1 fix that, how does the server answer such a request "
         "now, and did anything else change in the release?")
    steps: list[Step] = [
        ("Diffing the two releases (8.17.0 in a/, 8.17.1 in b/).",
         [("bash", {"command": "git diff --no-index --no-prefix a b"}, diff(old, new))]),
        (None, [read_numbered("node_modules/ws/lib/websocket-server.js", read(new, "lib/websocket-server.js"))]),
        ("Checking every handshake abort path.", [("bash", {"command": f"cd node_modules/ws && {gcmd}"}, gtext)]),
    ]
    return Parts(src("npm", "ws", "8.17.1", "`git diff --no-index` vs 8.17.0 (sha256:"
                     + ARTIFACTS[("npm", "ws", "8.17.0")][:12] + ") + lib/websocket-server.js + " + f"`{gcmd}`"),
                 systems()[0], q, steps,
                 ["const upgrade = req.headers.upgrade;", "key === undefined || !keyRegex.test(key)",
                  "RANDOM_POOL_SIZE = 8 * 1024"],
                 "Yes: handleUpgrade now reads const upgrade = req.headers.upgrade and checks upgrade === undefined "
                 "before calling toLowerCase() (the crash), answering 400 'Invalid Upgrade header' through "
                 "abortHandshakeOrEmitwsClientError; the key check is key === undefined too, and the client side "
                 "guards res.headers.upgrade the same way. Sender also masks frames from an 8 KiB random pool "
                 "(RANDOM_POOL_SIZE = 8 * 1024) instead of one randomFillSync per frame.")


@case("mixed", "anthropic")
def pkg_mixed_axios_ssrf() -> Parts:
    old, new = npm("axios", "1.7.3"), npm("axios", "1.7.4")
    files = ["CHANGELOG.md", "dist/node/axios.cjs", "lib/adapters/http.js", "lib/env/data.js", "package.json"]
    gcmd, gtext = grep(new, "'new URL('", "lib")
    q = ("Security asked us to bump axios from 1.7.3 to 1.7.4 on our Node backend. What vulnerability is that, how "
         "was the Node http adapter changed to fix it, and where else does axios build URL objects that we "
         "should review?")
    steps: list[Step] = [
        (None, [("bash", {"command": "for f in " + " ".join(files)
                          + "; do git diff --no-index --no-prefix a/$f b/$f; done"}, diff(old, new, files))]),
        ("Reading the adapter as shipped in 1.7.4.",
         [read_numbered("node_modules/axios/lib/adapters/http.js", read(new, "lib/adapters/http.js"))]),
        (None, [("bash", {"command": f"cd node_modules/axios && {gcmd}"}, gtext)]),
    ]
    return Parts(src("npm", "axios", "1.7.4", "per-file `git diff --no-index` vs 1.7.3 (sha256:"
                     + ARTIFACTS[("npm", "axios", "1.7.3")][:12] + ") + lib/adapters/http.js + " + f"`{gcmd}`"),
                 systems()[0], q, steps,
                 ["CVE-2024-39338", "disregard protocol-relative URL to remediate SSRF",
                  "utils.hasBrowserEnv ? platform.origin : undefined"],
                 "CVE-2024-39338, a server-side request forgery: a protocol-relative URL was resolved against "
                 "'http://localhost'. httpAdapter now does new URL(fullPath, utils.hasBrowserEnv ? platform.origin : "
                 "undefined), so in Node a path-relative or protocol-relative URL is no longer silently given a "
                 "localhost base (same change in dist/node/axios.cjs). The only other new URL( in lib/ is the proxy "
                 "URL in lib/adapters/http.js:88 (proxy = new URL(proxyUrl)).")


def main() -> int:
    global bp
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", default=str(DEFAULT_BENCH), help="../shared/bench (build_public.py, score.py)")
    ap.add_argument("--registry", default=os.path.join(tempfile.gettempdir(), "headroom_pkg_registry"),
                    help="download/unpack cache")
    ap.add_argument("--out", default=str(HERE / "cases"))
    ap.add_argument("--only")
    args = ap.parse_args()
    sys.path.insert(0, args.bench)
    bp = importlib.import_module("build_public")
    score = importlib.import_module("score")
    bp.REGISTRY = args.registry
    bp.ARTIFACTS.update(ARTIFACTS)
    os.makedirs(args.out, exist_ok=True)
    bad = 0
    for name, build in CASES.items():
        if args.only and args.only not in name:
            continue
        c = build()
        probs = score.check_case(c)
        toks = score.count_text_tokens(score.conversation_texts(c["messages"]))
        print(f"{c['id']:<40} {c['kind']:<6} {c['format']:<9} {toks:>7} {len(c['needles'])}  {probs or 'OK'}")
        bad += bool(probs)
        with open(os.path.join(args.out, c["id"] + ".json"), "w", encoding="utf-8") as fh:
            json.dump(c, fh, indent=1, ensure_ascii=False)
            fh.write("\n")
    check = subprocess.run([sys.executable, os.path.join(args.bench, "score.py"), "--check-cases", "--cases", args.out],
                           check=False)
    return 1 if bad or check.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
