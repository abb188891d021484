"""`.kelora.ini`: discovery, parsing, `defaults`, `[aliases]` and `secret_file` (reference §1.8).

Search order: the user file (``$XDG_CONFIG_HOME/kelora/kelora.ini``, else
``~/.config/kelora/kelora.ini``) is loaded first, then the nearest ``.kelora.ini`` found from the
working directory up to the nearest ``.git`` or the home folder overlays it (project wins;
aliases are merged) -- a project file only once trusted (COMPAT D15, ``kelora.cli.config_trust``).
``--config-file FILE`` uses only FILE; ``--ignore-config`` (or ``KELORA_IGNORE_CONFIG``) skips
the discovered files.

Expansion happens on argv before flag parsing: ``defaults`` (shell words) go right after the
program name, so later user flags override them; each ``-a/--alias NAME`` is replaced by the
alias' words, recursively (depth 10, cycles reported).  Words are split by ``kelora.cli.shellwords``
(``shlex`` rules plus ``$'...'``, so saved multi-line scripts round-trip).

Root keys: ``defaults`` and (COMPAT D10) ``secret_file``, a path relative to the config file's
folder.  Anything else is an error naming ``path:line``.

A trusted project file still may not choose where data goes or what is read, nor loosen the
privacy rules: ``secret_file``, ``--allow-fs-writes``, ``--fail-open``, ``--pii-allow``, output
paths and input files are refused there (``check_project``, exit 2), and script stages it adds
(in ``defaults`` or through its aliases) are announced on stderr (``announcement``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from kelora import fileguard

from kelora.cli import config_trust

from kelora.cli import shellwords
from kelora.errors import UsageError
from kelora.safetext import lines as text_lines

ALIAS_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")
MAX_ALIAS_DEPTH = 10

# Flags a project config may not set, even trusted (COMPAT D15): where output goes, what is
# read, and what loosens the privacy rules.  Named even when this version lacks the flag.
PROJECT_FORBIDDEN = {
    "--allow-fs-writes": "--allow-fs-writes", "--fail-open": "--fail-open", "--pii-allow": "--pii-allow",
    "-o": "-o/--output-file", "--output-file": "-o/--output-file", "--metrics-file": "--metrics-file",
    "--rotation-map": "--rotation-map", "--escrow": "--escrow", "--save-alias": "--save-alias",
    "--config-file": "--config-file", "--trust-config": "--trust-config",
}
SCRIPT_FLAGS = ("-e", "--exec", "--filter", "--assert", "--begin", "--end", "-E", "--exec-file", "-I", "--include")

EXAMPLE = """\
# Example .kelora.ini
defaults = --stats
secret_file = /run/secrets/kelora   # mode 600

[aliases]
errors = -l error,critical --stats
users = -e 'e.user_id = pseudonym(e.user_email, "users"); e.user_email = ()'
"""


@dataclass
class Source:
    """A config file that was considered: used, or ignored and why (for --show-config)."""
    path: str
    role: str  # "--config-file", "user config", "home config", "project config"
    used: bool
    note: str = ""
    text: str = ""  # what was parsed (shown by --show-config: the file is not read again)


@dataclass
class ConfigData:
    paths: list[str] = field(default_factory=list)
    defaults: str | None = None
    secret_file: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: str | None = None  # "--ignore-config" / "KELORA_IGNORE_CONFIG"
    searched: list[str] = field(default_factory=list)
    # the used project file: its display path and its (where, name, words) entries to check
    project: str | None = None
    project_entries: list[tuple[str, str, str]] = field(default_factory=list)
    project_defaults: str | None = None
    project_aliases: set = field(default_factory=set)  # alias names whose words are the project's
    # per script option (click parameter name): for each occurrence, did a project config add it?
    script_origins: dict = field(default_factory=dict)
    protected: frozenset = frozenset()  # (dev, ino) of secret files (kelora.fileguard)


def user_config_path(env: Mapping[str, str]) -> Path:
    return Path(fileguard.user_config_folder(env)) / "kelora.ini"


def project_config_path(cwd: Path, env: Mapping[str, str] | None = None) -> Path | None:
    found = config_trust.discover(env or {}, cwd)
    return found.path if found else None


def search_paths(env: Mapping[str, str], cwd: Path) -> list[str]:
    folders = config_trust.search_folders(cwd, config_trust.home_dir(env))
    where = str(folders[0] / ".kelora.ini")
    if len(folders) > 1:
        where += f" up to {folders[-1] / '.kelora.ini'}"
    return [str(user_config_path(env)), where]


def display_path(path: Path, cwd: Path) -> str:
    """``./.kelora.ini``, ``../../.kelora.ini``: how a discovered file is named in messages."""
    try:
        rel = os.path.relpath(path, cwd.resolve())
    except ValueError:
        return str(path)
    return rel if rel.startswith("..") else "./" + rel


def read_config_bytes(path: Path, protected: frozenset = frozenset(), *,
                      pipes: bool = False) -> tuple[bytes, os.stat_result]:
    """The bytes of a config file and the status of what was read (one descriptor; at most
    ``fileguard.OWN_FILE_CAP`` bytes of a regular file -- *pipes*: or a pipe, ``<(...)``)."""
    try:
        return fileguard.read_own_file(
            str(path), pipes=pipes,
            check=lambda st: fileguard.check_flag_read(str(path), "config file", protected, st))
    except OSError:
        raise UsageError(f"Config file error: Failed to read config file: {path}")
    except fileguard.OwnFileRefused as exc:
        raise UsageError(f"Config file error: {path}: {exc}",
                         hint="a config file is a small text file (see kelora --show-config)")


def parse_file(path: Path, into: ConfigData, *, role: str = "config", data: bytes | None = None,
               protected: frozenset = frozenset(), project: bool = False) -> None:
    if data is None:
        data, _ = read_config_bytes(path, protected, pipes=role == "--config-file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"Config file error: {path} is not valid UTF-8")
    into.paths.append(str(path))
    into.sources.append(Source(str(path), role, True, "trusted" if project else "", text))
    section = None
    for num, raw in enumerate(text_lines(text), 1):  # (Kelora's lines: only "\n" ends one)
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        where = f"{path}:{num}"
        if line.startswith("["):
            if line.rstrip() != "[aliases]" and line.replace(" ", "") != "[aliases]":
                raise UsageError(
                    f"Config error in {where}: unknown section {line} (the only section is [aliases])"
                )
            section = "aliases"
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise UsageError(f"Config error in {where}: expected 'key = value', got {line!r}")
        key, value = key.strip(), value.strip()
        if section == "aliases":
            if not ALIAS_NAME.match(key):
                raise UsageError(f"Config error in {where}: invalid alias name {key!r}")
            into.aliases[key] = value
            if project:
                into.project_entries.append((where, f"alias {key}", value))
                into.project_aliases.add(key)
            else:
                into.project_aliases.discard(key)
        elif key == "defaults":
            into.defaults = value
            if project:
                into.project_defaults = value
                into.project_entries.append((where, "defaults", value))
        elif key == "secret_file":
            if project:
                raise UsageError(
                    f"Config error in {where}: a project config may not set secret_file (it would "
                    "choose the pseudonym secret for you); set it in your user config "
                    f"or use KELORA_SECRET_FILE")
            value = _strip_comment(value)
            into.secret_file = str((path.parent / os.path.expanduser(value)).resolve())
        else:
            raise UsageError(
                f"Config error in {where}: unknown key {key!r} (the supported root keys are "
                "'defaults' and 'secret_file'; put aliases under an '[aliases]' section)"
            )


def _strip_comment(value: str) -> str:
    for mark in (" #", " ;"):
        if mark in value:
            value = value.split(mark, 1)[0]
    return value.strip()


TRUST_HINT = "run 'kelora --trust-config' here to trust it"


def load(argv: list[str], env: Mapping[str, str], cwd: Path,
         protected: frozenset = frozenset(), options: Mapping[str, bool] | None = None) -> ConfigData:
    """Read the config files that apply to this command line (*options*: ``option_table``, so
    that a script, key or file name that looks like ``--config-file=...`` is not taken for it)."""
    data = ConfigData()
    given = _option_values(argv, options or {})
    explicit = given.get("--config-file")
    if explicit is not None:
        if given.get("--save-alias") is not None and not os.path.lexists(explicit):
            data.sources.append(Source(explicit, "--config-file", False, "does not exist yet"))
            return data  # --save-alias creates it
        parse_file(Path(explicit), data, role="--config-file", protected=protected)
        return data
    if "--ignore-config" in given:
        data.skipped = "--ignore-config"
        return data
    if env.get("KELORA_IGNORE_CONFIG") is not None:
        data.skipped = "KELORA_IGNORE_CONFIG"
        return data
    user = user_config_path(env)
    if user.is_file():
        parse_file(user, data, role="user config", protected=protected)
    found = config_trust.discover(env, cwd)
    data.searched = [str(f) for f in (found.searched if found else
                                      config_trust.search_folders(cwd, config_trust.home_dir(env)))]
    if found is None or _same_file(found.path, user):
        return data
    if found.in_home:
        parse_file(found.path, data, role="home config", protected=protected)
        return data
    shown = display_path(found.path, cwd)
    verdict = judge_project(found.path, user, protected)
    if verdict.problem is not None:
        data.sources.append(Source(str(found.path), "project config", False, verdict.problem))
        data.warnings.append(f"ignoring {shown}: {verdict.problem}")
        return data
    parse_file(found.path, data, role="project config", data=verdict.data, protected=protected, project=True)
    data.project = shown
    return data


@dataclass
class Verdict:
    problem: str | None
    data: bytes = b""
    sha: str = ""


def judge_project(path: Path, user_config: Path, protected: frozenset, *, need_trust: bool = True) -> Verdict:
    """May this discovered project file be used?  Reads it once (what is judged is what is parsed)."""
    try:
        entry = os.lstat(path)
        data, st = fileguard.read_own_file(  # (not read whole before it is judged: capped)
            str(path), check=lambda st: fileguard.check_flag_read(str(path), "config file", protected, st))
    except OSError as exc:
        return Verdict(f"cannot be read ({exc.strerror or exc})")
    except fileguard.OwnFileRefused as exc:
        return Verdict(f"{exc} -- not read")
    problem = config_trust.ownership_problem(entry, st)
    if problem is not None:
        return Verdict(problem + " -- not used even if trusted")
    sha = config_trust.digest(data)
    if need_trust:
        recorded = config_trust.read_trusted(user_config).get(str(path))
        if recorded is None:
            return Verdict(f"not trusted; {TRUST_HINT}", data, sha)
        if recorded != sha:
            return Verdict(f"changed since it was trusted; check it, then {TRUST_HINT} again", data, sha)
    return Verdict(None, data, sha)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _option_values(argv: list[str], options: Mapping[str, bool]) -> dict[str, str | None]:
    """The options given in *argv* (as click reads them) -> the last value given (None: a flag)."""
    return {opt: val for opt, val in scan_words(argv, options) if opt is not None}


def _split(words: str, what: str) -> list[str]:
    try:
        return shellwords.split(words)
    except ValueError as exc:
        raise UsageError(f"Config error: cannot split {what}: {exc}")


def expand(argv: list[str], data: ConfigData, options: Mapping[str, bool] | None = None) -> list[str]:
    """Insert `defaults` and replace every `-a/--alias NAME` by the alias' words (*options*:
    ``option_table``, so that a value that reads `-a` or `--alias=x` is left alone)."""
    return expand_marked(argv, data, options)[0]


def expand_marked(argv: list[str], data: ConfigData,
                  options: Mapping[str, bool] | None = None) -> tuple[list[str], list[bool]]:
    """``expand``, with a mark per word: True for a word a project config put there (its
    ``defaults``, or an alias it defines, and everything such an alias expands to).  The run
    refuses ``reveal()`` in a script stage with a marked word (issue 15: never from a project
    config), whatever flag brought the script (-e, --filter, --assert, -E, -I, --begin, --end)."""
    words: list[str] = []
    marks: list[bool] = []
    if data.defaults:
        head = _split(data.defaults, "defaults")
        words += head
        marks += [data.project_defaults is not None] * len(head)  # (parsed last: they are the defaults)
    words += list(argv)
    marks += [False] * len(argv)
    return _expand_aliases(words, marks, data, depth=0, chain=(), options=options)


def _expand_aliases(args: list[str], marks: list[bool], data: ConfigData, depth: int,
                    chain: tuple, options: Mapping[str, bool] | None = None) -> tuple[list[str], list[bool]]:
    aliases = data.aliases
    out: list[str] = []
    out_marks: list[bool] = []
    # (None: an option's value or a word after "--", never an alias)
    kinds = option_words(args, options) if options is not None else args
    i = 0
    while i < len(args):
        arg = args[i]
        mark = marks[i]
        if kinds[i] is None:
            out.append(arg)
            out_marks.append(mark)
            i += 1
            continue
        if arg == "--":
            out.extend(args[i:])
            out_marks.extend(marks[i:])
            break
        name = None
        if arg in ("-a", "--alias"):
            if i + 1 >= len(args):
                raise UsageError("a value is required for '--alias <NAME>' but none was supplied")
            name = args[i + 1]
            mark = mark or marks[i + 1]
            i += 2
        elif arg.startswith("--alias="):
            name = arg[len("--alias=") :]
            i += 1
        else:
            out.append(arg)
            out_marks.append(mark)
            i += 1
            continue
        if name in chain:
            raise UsageError(f"Config error: Circular dependency detected in alias: {name}")
        if name not in aliases:
            known = ", ".join(sorted(aliases)) or "none defined"
            raise UsageError(f"Config error: Unknown alias: {name} (known aliases: {known})")
        if depth >= MAX_ALIAS_DEPTH:
            raise UsageError(f"Config error: alias expansion deeper than {MAX_ALIAS_DEPTH}: {name}")
        words = _split(aliases[name], f"alias {name}")
        # the project's alias, or any alias a project word invoked: the project's words
        project = mark or name in data.project_aliases
        sub_words, sub_marks = _expand_aliases(words, [project] * len(words), data, depth + 1, chain + (name,),
                                               options)
        out.extend(sub_words)
        out_marks.extend(sub_marks)
    return out, out_marks


def show(data: ConfigData, env: Mapping[str, str], cwd: Path) -> str:
    """Text for --show-config: each file considered, used or ignored and why; used ones in full."""
    out = []
    if data.skipped:
        out.append(f"# discovered config files skipped ({data.skipped})")
    for src in data.sources:
        state = "used" if src.used else "ignored"
        out.append(f"# {src.path} ({src.role}: {state}{', ' + src.note if src.note else ''})")
        if src.used and src.text:
            out.append(src.text.rstrip("\n"))
    if not data.paths:
        searched = ", ".join(search_paths(env, cwd))
        out.append(f"No config found (searched: {searched})\n\n{EXAMPLE}".rstrip("\n"))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- project rules

def scan_words(words: list[str], options: Mapping[str, bool]) -> list[tuple[str | None, str | None]]:
    """``(option, value)`` pairs as click would read ``words`` (``value`` None for a flag), and
    ``(None, word)`` for each positional argument.  ``options`` maps every option string to
    whether it takes a value; unknown options are taken as flags."""
    return [(opt, val) for opt, val, _ in scan_words_at(words, options)]


def option_words(words: list[str], options: Mapping[str, bool]) -> list[str | None]:
    """*words* with each option's value, and every word after a ``--`` that ends the options,
    replaced by None: a word the checks made before click parses (``"--help" in ...``) find
    here was given as an option or an argument, never as the value of another option (a
    script, a key list, a file name that merely looks like ``--config-file=...``)."""
    pairs = scan_words_at(words, options)
    taken = {k for *_, at in pairs for k in at}
    stop = next((i for i, w in enumerate(words) if w == "--" and i not in taken), len(words))
    out: list[str | None] = [None] * len(words)
    for _opt, _val, at in pairs:
        if at[0] < stop:
            out[at[0]] = words[at[0]]  # (an option's own word, or an argument)
    if stop < len(words):
        out[stop] = "--"
    return out


def scan_words_at(words: list[str], options: Mapping[str, bool]) -> list[tuple[str | None, str | None, list[int]]]:
    """``scan_words`` with the indices of the words each pair was read from."""
    out: list[tuple[str | None, str | None, list[int]]] = []
    i = 0
    while i < len(words):
        w = words[i]
        at = i
        i += 1
        if w == "--":
            out.extend((None, x, [at + 1 + k]) for k, x in enumerate(words[i:]))
            break
        if w.startswith("--"):
            name, eq, value = w.partition("=")
            if eq:
                out.append((name, value, [at]))
            elif options.get(name) and i < len(words):
                out.append((name, words[i], [at, i]))
                i += 1
            else:
                out.append((name, None, [at]))
        elif w.startswith("-") and len(w) > 1:
            for j in range(1, len(w)):
                opt = "-" + w[j]
                if options.get(opt):
                    if j + 1 < len(w):
                        out.append((opt, w[j + 1:], [at]))
                    elif i < len(words):
                        out.append((opt, words[i], [at, i]))
                        i += 1
                    else:
                        out.append((opt, None, [at]))
                    break
                out.append((opt, None, [at]))
        else:
            out.append((None, w, [at]))
    return out


def check_project(data: ConfigData, options: Mapping[str, bool]) -> None:
    """Refuse what even a trusted project config may not set (COMPAT D15); UsageError, exit 2."""
    for where, what, value in data.project_entries:
        words = _split(value, what)
        for opt, val in scan_words(words, options):
            if opt is None:
                if val == "-":
                    continue
                raise UsageError(
                    f"Config error in {where}: a project config may not name input files ({what} "
                    f"has {shellwords.quote(val)}); pass input files on the command line")
            shown = PROJECT_FORBIDDEN.get(opt)
            if shown is not None:
                raise UsageError(
                    f"Config error in {where}: a project config may not set {shown} ({what}); "
                    "pass it on the command line, or put it in your user config")


def announcement(data: ConfigData, options: Mapping[str, bool], words: list[str],
                 marks: list[bool]) -> str | None:
    """``./.kelora.ini adds: -e '...'`` when the project config puts script stages on the
    command line.  Read from the expanded words (``expand_marked``): a stage that comes through
    an alias (``defaults = -a x``, a project alias the user invokes or one replacing the user's)
    is announced like one written in ``defaults``."""
    if data.project is None:
        return None
    parts = []
    for opt, val, at in scan_words_at(words, options):
        if opt in SCRIPT_FLAGS and any(marks[k] for k in at):
            parts.append(opt if val is None else f"{opt} {shellwords.quote(val)}")
    if not parts:
        return None
    return f"{data.project} adds: " + " ".join(parts)


def trust(env: Mapping[str, str], cwd: Path, options: Mapping[str, bool],
          protected: frozenset = frozenset()) -> str:
    """``kelora --trust-config``: record the discovered project file; the line to print."""
    found = config_trust.discover(env, cwd)
    user = user_config_path(env)
    if found is None:
        folders = config_trust.search_folders(cwd, config_trust.home_dir(env))
        raise UsageError(f"--trust-config: no .kelora.ini found (searched {folders[0]}"
                         + (f" up to {folders[-1]})" if len(folders) > 1 else ")"))
    if found.in_home or _same_file(found.path, user):
        return f"kelora: {found.path} is your own config (home folder); it is always used\n"
    verdict = judge_project(found.path, user, protected, need_trust=False)
    if verdict.problem is not None:
        raise UsageError(f"--trust-config: refusing to trust {found.path}: {verdict.problem}")
    probe = ConfigData()
    parse_file(found.path, probe, role="project config", data=verdict.data, project=True)
    check_project(probe, options)
    try:
        where = config_trust.record_trusted(user, found.path, verdict.sha)
    except config_trust.UntrustablePath as exc:
        raise UsageError(f"--trust-config: {exc}")
    except OSError as exc:
        raise UsageError(f"--trust-config: cannot write the trust list: {exc.strerror or exc}")
    return f"kelora: trusted {found.path} (sha256 {verdict.sha[:16]}…; recorded in {where})\n"


# --------------------------------------------------------------------------- --save-alias

def save_target(data: ConfigData, env: Mapping[str, str], cwd: Path, explicit: str | None) -> Path:
    """Where --save-alias writes: --config-file, else the used project/home file, else the user
    config.  A project file that is not used (untrusted) is never written to."""
    if explicit:
        return Path(explicit)
    used = [s for s in data.sources if s.used and s.role in ("project config", "home config")]
    return Path(used[-1].path) if used else user_config_path(env)


def save_alias(name: str, value: str, target: Path, protected: frozenset = frozenset()) -> str | None:
    """Write ``name = value`` under [aliases] of ``target`` atomically; returns the previous value."""
    fileguard.check_flag_write(str(target), "--save-alias", protected)
    if os.path.islink(target):
        target = Path(os.path.realpath(target))
    try:
        text = fileguard.read_own_file(str(target))[0].decode("utf-8") if target.exists() else ""
    except (OSError, UnicodeDecodeError, fileguard.OwnFileRefused) as exc:
        raise UsageError(f"Failed to save alias '{name}': cannot read {target}: {exc}")
    previous = None
    lines = text_lines(text)
    section_start = next((i for i, l in enumerate(lines) if l.strip() == "[aliases]"), None)
    if section_start is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines += ["[aliases]", f"{name} = {value}"]
    else:
        end = len(lines)
        for j in range(section_start + 1, len(lines)):
            if lines[j].strip().startswith("["):
                end = j
                break
        for j in range(section_start + 1, end):
            key, sep, old = lines[j].partition("=")
            if sep and key.strip() == name:
                previous = old.strip()
                lines[j] = f"{name} = {value}"
                break
        else:
            lines.insert(end, f"{name} = {value}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = os.stat(target).st_mode & 0o777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        config_trust.write_atomic(target, "\n".join(lines) + "\n", mode)
    except OSError as exc:
        raise UsageError(f"Failed to save alias '{name}': {exc.strerror or exc}: {target}")
    return previous
