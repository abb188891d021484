"""`.kelora.ini`: discovery, parsing, `defaults`, `[aliases]` and `secret_file` (reference §1.8).

Search order: the user file (``$XDG_CONFIG_HOME/kelora/kelora.ini``, else
``~/.config/kelora/kelora.ini``) is loaded first, then the nearest ``.kelora.ini`` walking up from
the working directory overlays it (project wins; aliases are merged).  ``--config-file FILE`` uses
only FILE; ``--ignore-config`` (or ``KELORA_IGNORE_CONFIG``) skips the discovered files.

Expansion happens on argv before flag parsing: ``defaults`` (shell words) go right after the
program name, so later user flags override them; each ``-a/--alias NAME`` is replaced by the
alias' words, recursively (depth 10, cycles reported).

Root keys: ``defaults`` and (COMPAT D10) ``secret_file``, a path relative to the config file's
folder.  Anything else is an error naming ``path:line``.
"""
from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from kelora.errors import UsageError

ROOT_KEYS = ("defaults", "secret_file")
ALIAS_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")
MAX_ALIAS_DEPTH = 10

EXAMPLE = """\
# Example .kelora.ini
defaults = --stats
secret_file = /run/secrets/kelora   # mode 600

[aliases]
errors = -l error,critical --stats
users = -e 'e.user_id = pseudonym(e.user_email, "users"); e.user_email = ()'
"""


@dataclass
class ConfigData:
    paths: list[str] = field(default_factory=list)
    defaults: str | None = None
    secret_file: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)


def user_config_path(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "kelora" / "kelora.ini"


def project_config_path(cwd: Path) -> Path | None:
    for folder in (cwd, *cwd.parents):
        candidate = folder / ".kelora.ini"
        if candidate.is_file():
            return candidate
    return None


def search_paths(env: Mapping[str, str], cwd: Path) -> list[str]:
    return [str(user_config_path(env)), str(cwd / ".kelora.ini") + " (and parent folders)"]


def parse_file(path: Path, into: ConfigData) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise UsageError(f"Config file error: Failed to read config file: {path}")
    except UnicodeDecodeError:
        raise UsageError(f"Config file error: {path} is not valid UTF-8")
    into.paths.append(str(path))
    section = None
    for num, raw in enumerate(text.splitlines(), 1):
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
        elif key == "defaults":
            into.defaults = value
        elif key == "secret_file":
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


def load(argv: list[str], env: Mapping[str, str], cwd: Path) -> ConfigData:
    """Read the config files that apply to this command line."""
    data = ConfigData()
    explicit = _flag_value(argv, "--config-file")
    if explicit is not None:
        parse_file(Path(explicit), data)
        return data
    if "--ignore-config" in argv or env.get("KELORA_IGNORE_CONFIG") is not None:
        return data
    user = user_config_path(env)
    if user.is_file():
        parse_file(user, data)
    project = project_config_path(cwd)
    if project is not None and project.resolve() != user.resolve():
        parse_file(project, data)
    return data


def _flag_value(argv: list[str], flag: str) -> str | None:
    value = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == flag and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(flag + "="):
            value = arg[len(flag) + 1 :]
    return value


def _split(words: str, what: str) -> list[str]:
    try:
        return shlex.split(words, comments=False)
    except ValueError as exc:
        raise UsageError(f"Config error: cannot split {what}: {exc}")


def expand(argv: list[str], data: ConfigData) -> list[str]:
    """Insert `defaults` and replace every `-a/--alias NAME` by the alias' words."""
    args = (_split(data.defaults, "defaults") if data.defaults else []) + list(argv)
    return _expand_aliases(args, data.aliases, depth=0, chain=())


def _expand_aliases(args: list[str], aliases: dict[str, str], depth: int, chain: tuple) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        name = None
        if arg in ("-a", "--alias"):
            if i + 1 >= len(args):
                raise UsageError("a value is required for '--alias <NAME>' but none was supplied")
            name = args[i + 1]
            i += 2
        elif arg.startswith("--alias="):
            name = arg[len("--alias=") :]
            i += 1
        else:
            out.append(arg)
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
        out.extend(_expand_aliases(words, aliases, depth + 1, chain + (name,)))
    return out


def show(data: ConfigData, env: Mapping[str, str], cwd: Path) -> str:
    """Text for --show-config."""
    if not data.paths:
        searched = ", ".join(search_paths(env, cwd))
        return f"No config found (searched: {searched})\n\n{EXAMPLE}"
    out = []
    for p in data.paths:
        out.append(f"# {p}")
        try:
            out.append(Path(p).read_text(encoding="utf-8").rstrip("\n"))
        except OSError:
            pass
    return "\n".join(out) + "\n"


def save_alias(name: str, words: list[str], data: ConfigData, env: Mapping[str, str], cwd: Path,
               explicit: str | None) -> Path:
    """Write `name = words` under [aliases] of the active file; returns the file written."""
    if not ALIAS_NAME.match(name):
        raise UsageError(
            f"Invalid alias name '{name}': use letters, digits, '_' or '-' (at most 64, not starting with a digit)"
        )
    if explicit:
        target = Path(explicit)
    else:
        target = project_config_path(cwd) or user_config_path(env)
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    value = shlex.join(words)
    lines = text.splitlines()
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
            if lines[j].split("=", 1)[0].strip() == name:
                lines[j] = f"{name} = {value}"
                break
        else:
            lines.insert(end, f"{name} = {value}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target
