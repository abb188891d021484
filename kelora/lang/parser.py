"""Text -> Lark parse tree, with Lark's exceptions translated into ``ScriptSyntaxError``.

The LALR parser is built once per process, lazily (``kelora --version`` must not import lark),
from ``kelora/kelora.lark`` in an installed wheel or ``grammar/kelora.lark`` in a checkout.
Error translation (aesthetics §3.3): ``$END`` puts the caret at the end of the text, terminal
names are shown as the text users type, and classic mistakes get a hint.
"""
from __future__ import annotations

import re
from pathlib import Path

from kelora.errors import ScriptSyntaxError, Span

_PARSER = None

# What users see instead of Lark's terminal names.
TERMINAL_TEXT = {
    "NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "STRING": "a string",
    "RAW_STRING": "a raw string",
    "CHAR": "a char",
    "TEMPLATE": "a template string",
    "ASSIGN_OP": "an assignment operator",
    "EQ_OP": "`==` or `!=`",
    "CMP_OP": "a comparison",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*`, `/` or `%`",
    "SHIFT_OP": "`<<` or `>>`",
    "OROR": "`||`",
    "ANDAND": "`&&`",
    "PIPE": "`|`",
    "AMP": "`&`",
    "CARET": "`^`",
    "QQ": "`??`",
    "DOTDOT": "`..`",
    "DOTDOTEQ": "`..=`",
    "POW": "`**`",
    "BANG": "`!`",
    "DOT": "`.`",
    "QDOT": "`?.`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "HASH_LBRACE": "`#{`",
    "COMMA": "`,`",
    "COLON": "`:`",
    "SEMI": "`;`",
    "EQUAL": "`=`",
    "ARROW": "`=>`",
    "$END": "end of script",
}

# Tokens that start an expression: collapsed into one phrase in "expected ..." lists.
_EXPR_STARTERS = {
    "NAME", "INT", "FLOAT", "STRING", "RAW_STRING", "CHAR", "TEMPLATE", "LPAR", "LSQB",
    "HASH_LBRACE", "IF", "SWITCH", "TRUE", "FALSE", "PIPE", "OROR", "BANG", "ADD_OP",
}


def terminal_text(name: str) -> str:
    if name in TERMINAL_TEXT:
        return TERMINAL_TEXT[name]
    if name.isalpha() and name.isupper():  # keywords: IF -> `if`
        return f"`{name.lower()}`"
    return name.lower()


def grammar_text() -> str:
    """The grammar: ``kelora/kelora.lark`` in an installed wheel, ``grammar/kelora.lark`` in a
    checkout.  (Plain paths: importlib.resources costs ~4 ms of imports at every start.)"""
    here = Path(__file__).resolve().parent.parent
    for path in (here / "kelora.lark", here.parent / "grammar" / "kelora.lark"):
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
    raise FileNotFoundError("kelora.lark: the script grammar is missing from the installation")


PARSER_OPTIONS = dict(parser="lalr", lexer="contextual", start=["script", "expression"],
                      propagate_positions=True, maybe_placeholders=True)


def parser_cache_path() -> str | bool:
    """Where the built parse tables are kept between runs (building them costs ~0.2-0.4 s of
    every start): a directory of our own, ``<tmp>/kelora-<uid>``, mode 0700; else no cache (False).

    Lark's own ``cache=True`` reads a pickle from a predictable name in the shared temporary
    directory: another local user could place one there first and run code in kelora, next to
    the secret (docs/security.md).  So the file is only used inside a directory that this user
    owns and nobody else can write, and only if the file itself is ours and not writable by
    others; and it is read by ``_load_tables``, which runs no code whatever the file holds."""
    import os
    import stat
    import sys

    from kelora import fileguard

    if not hasattr(os, "getuid"):
        return False
    uid = os.getuid()
    folder = fileguard.cache_folder()
    try:
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        st = os.lstat(folder)  # (lstat: a symlink someone planted is not our directory)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
            return False
        from lark import __version__ as lark_version

        path = os.path.join(folder, f"grammar-lark{lark_version}-py{sys.version_info[0]}{sys.version_info[1]}.cache")
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return path
        if not stat.S_ISREG(st.st_mode) or st.st_uid != uid or st.st_mode & 0o022:
            return False
        return path
    except OSError:  # (no temporary directory we can use: build the tables in memory)
        return False


_CACHE_CAP = 8 << 20  # the tables are ~0.1 MB; a bigger file is not ours


def _tables_key(grammar: str) -> bytes:
    """The first line of the cache file: what the tables were built from (a changed grammar,
    option, Lark or Python version is a different key: the file is rebuilt)."""
    import hashlib
    import sys

    from lark import __version__ as lark_version

    text = grammar + repr(sorted(PARSER_OPTIONS.items())) + lark_version + repr(sys.version_info[:2])
    return b"kelora-tables-1 " + hashlib.sha256(text.encode("utf-8")).hexdigest().encode("ascii")


def _load_tables(path: str, key: bytes):
    """The parser stored at *path*, or None.  The file is a pickle of plain data (Lark's
    ``memo_serialize``: dicts, lists, strings, numbers), read by an unpickler that refuses every
    global: a planted or edited file cannot name a function, so it cannot run code."""
    import io
    import os
    import pickle
    import stat

    from lark import Lark

    from kelora import fileguard

    class PlainData(pickle.Unpickler):
        def find_class(self, module, name):
            raise pickle.UnpicklingError(f"the parser cache may hold only plain data, not {module}.{name}")

    try:
        data, st = fileguard.read_own_file(path, cap=_CACHE_CAP, follow=False)
        if st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) & 0o022:
            return None
        head, _, body = data.partition(b"\n")
        if head != key:
            return None
        return Lark.load(PlainData(io.BytesIO(body)).load())
    except Exception:  # (whatever the file holds: build the tables instead)
        return None


def _save_tables(path: str, key: bytes, parser) -> None:
    import pickle

    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    from kelora import atomicfile

    data, memo = parser.memo_serialize([TerminalDef, Rule])
    blob = key + b"\n" + pickle.dumps({"data": data, "memo": memo}, protocol=pickle.HIGHEST_PROTOCOL)
    try:  # (a fresh 0600 file renamed into place: never through a planted symlink)
        atomicfile.write_atomic(path, blob, mode=0o600, in_place=False)
    except OSError:
        pass


def get_parser():
    global _PARSER
    if _PARSER is None:
        import logging

        from lark import Lark, logger

        logger.setLevel(logging.ERROR)  # shift/reduce resolutions are intended (see grammar)
        grammar = grammar_text()
        path = parser_cache_path()
        key = _tables_key(grammar)
        parser = _load_tables(path, key) if path else None
        if parser is None:
            parser = Lark(grammar, **PARSER_OPTIONS)
            if path:
                _save_tables(path, key, parser)
        _PARSER = parser
    return _PARSER


def parse(text: str, start: str):
    """Parse *text* from rule *start* ("script" | "expression"); raise ScriptSyntaxError."""
    from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    parser = get_parser()
    try:
        return parser.parse(text, start=start)
    except UnexpectedToken as exc:
        raise _unexpected_token(text, exc, start) from None
    except UnexpectedCharacters as exc:
        raise _unexpected_char(text, exc) from None
    except UnexpectedEOF:
        raise ScriptSyntaxError(
            "unexpected end of script", kind="syntax", span=Span(len(text), len(text))
        ) from None
    except LarkError as exc:  # pragma: no cover - defensive
        raise ScriptSyntaxError(f"cannot parse script: {exc}", kind="syntax", span=Span(0, 0)) from None
    except RecursionError:
        raise ScriptSyntaxError(
            "script is nested too deeply", kind="limit", span=Span(0, min(1, len(text)))
        ) from None


def expected_text(expected) -> str:
    names = set(expected)
    parts = []
    if len(names & _EXPR_STARTERS) >= 4:
        names -= _EXPR_STARTERS
        parts.append("an expression")
    texts = sorted({terminal_text(n) for n in names})
    parts.extend(texts)
    if not parts:
        return ""
    if len(parts) > 8:
        parts = parts[:8] + ["..."]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _unexpected_token(text: str, exc, start: str) -> ScriptSyntaxError:
    tok = exc.token
    expected = expected_text(exc.expected or ())
    if tok.type == "$END":
        msg = "unexpected end of script"
        if expected:
            msg += f"; expected {expected}"
        return ScriptSyntaxError(msg, kind="syntax", span=Span(len(text), len(text)))
    begin = tok.start_pos if tok.start_pos is not None else 0
    end = tok.end_pos if tok.end_pos is not None else begin + len(tok)
    shown = str(tok)
    if len(shown) > 30:
        shown = shown[:27] + "..."
    msg = f"unexpected `{shown}`"
    if expected:
        msg += f"; expected {expected}"
    hint = None
    if tok.type == "EQUAL" and start == "expression":
        hint = "use == to compare; a filter is a single expression and cannot assign"
    elif tok.type in ("ASSIGN_OP", "SEMI") and start == "expression":
        hint = "a filter is a single expression: no `;`, `let` or assignments"
    elif start == "expression" and (tok.type in ("LET", "CONST")
                                    or re.search(r"(?:^|[^\w.])(?:let|const)\s*$", text[:begin])):
        hint = "a filter is a single expression: no `;`, `let` or assignments"
    elif tok.type == "EQUAL":
        hint = "use == to compare; `=` assigns to a variable or field"
    elif tok.type == "NAME" and str(tok) in ("elif", "elseif"):
        hint = "write `else if`"
    return ScriptSyntaxError(msg, kind="syntax", span=Span(begin, max(begin, end)), hint=hint)


def _unexpected_char(text: str, exc) -> ScriptSyntaxError:
    pos = exc.pos_in_stream if exc.pos_in_stream is not None else 0
    pos = max(0, min(pos, len(text)))
    ch = text[pos] if pos < len(text) else ""
    hint = None
    if ch == '"':
        msg = "unterminated string"
        return ScriptSyntaxError(msg, kind="syntax", span=Span(pos, pos + 1),
                                 hint='close the string with `"`')
    if ch == "`":
        return ScriptSyntaxError("unterminated template string", kind="syntax",
                                 span=Span(pos, pos + 1))
    if ch == "'":
        msg = "invalid char literal"
        hint = "strings use double quotes: \"...\"; 'c' holds exactly one character"
    elif ch == "#":
        msg = "unexpected `#`"
        hint = 'maps are written #{key: value}; raw strings #"..."#'
    elif ch:
        msg = f"unexpected character `{ch}`"
    else:
        msg = "unexpected end of script"
    # Lark's `allowed` lists every terminal of the lexer state: too long to help here.
    return ScriptSyntaxError(msg, kind="syntax", span=Span(pos, min(len(text), pos + 1)), hint=hint)
