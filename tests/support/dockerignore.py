""".dockerignore read the way Docker reads it, for tests on a machine without a Docker engine.

Docker's rules are not .gitignore's: a pattern is matched against the whole path from the
context's root (`*.db` is only `./x.db`; `**/*.db` is any depth), `*` and `?` never cross a
`/`, `**` crosses any number of directories, a pattern that matches a directory takes
everything under it, `!` lets a path back in, and the last pattern that matches wins. This
follows moby/patternmatcher (`MatchesOrParentMatches`, the compiled pattern types) and
moby/patternmatcher/ignorefile (how lines are read), for forward-slash paths.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

_REGEX_SPECIAL = frozenset(".+()|{}$")  # special in a regex, plain in a Docker pattern


@dataclass(frozen=True)
class Pattern:
    text: str  # cleaned, without the leading "!"
    exclusion: bool  # a "!" line: lets matching paths back in
    kind: str  # how Docker compares: "exact", "prefix", "suffix" or "regexp"
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":  # "foo**"
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":  # "**foo" and "**/foo" (which also takes "foo" itself)
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        return self.regex.fullmatch(path) is not None

    def matches_or_parent_matches(self, path: str) -> bool:
        """A pattern that matches a directory takes everything under it."""
        if self.matches(path):
            return True
        parents = path.split("/")[:-1]
        return any(self.matches("/".join(parents[: i + 1])) for i in range(len(parents)))


def read_patterns(lines: list[str]) -> list[Pattern]:
    """The patterns of a .dockerignore, as ignorefile.ReadAll reads its lines."""
    patterns = []
    for number, raw in enumerate(lines):
        line = raw.removeprefix("\ufeff") if number == 0 else raw
        if line.startswith("#"):
            continue
        line = line.strip()
        if not line:
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        if line:
            line = posixpath.normpath(line)
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
        if exclusion and not line:
            raise ValueError('illegal exclusion pattern: "!"')
        kind, regex = _compile(line)
        patterns.append(Pattern(line, exclusion, kind, regex))
    return patterns


def _compile(pattern: str) -> tuple[str, re.Pattern[str]]:
    """Pattern.compile: which comparison the pattern needs, and its regex when that is one."""
    out = ""
    kind = "exact"
    position = 0
    step = 0
    while position < len(pattern):
        char = pattern[position]
        position += 1
        if char == "*" and pattern[position : position + 1] == "*":
            position += 1
            if pattern[position : position + 1] == "/":
                position += 1
            if position == len(pattern):  # "**" at the end takes everything
                if kind == "exact":
                    kind = "prefix"
                else:
                    out += ".*"
                    kind = "regexp"
            else:  # any number of whole directories, even none
                out += "(.*/)?"
                kind = "regexp"
            if step == 0:
                kind = "suffix"
        elif char == "*":
            out += "[^/]*"
            kind = "regexp"
        elif char == "?":
            out += "[^/]"
            kind = "regexp"
        elif char in _REGEX_SPECIAL:
            out += "\\" + char
        elif char == "\\":
            if position < len(pattern):
                out += "\\" + pattern[position]
                position += 1
                kind = "regexp"
            else:
                out += "\\\\"
        elif char in "[]":  # a character class, as in Go's filepath.Match
            out += char
            kind = "regexp"
        else:
            out += char
        step += 1
    return kind, re.compile(out)


class DockerIgnore:
    def __init__(self, lines: list[str]) -> None:
        self.patterns = read_patterns(lines)

    @classmethod
    def from_file(cls, path: Path) -> DockerIgnore:
        return cls(path.read_text(encoding="utf-8").splitlines())

    def excludes(self, path: str) -> bool:
        """Whether `path` (relative to the context root, with "/") is left out of the context."""
        path = posixpath.normpath(path)
        if path == ".":
            return False
        excluded = False
        for pattern in self.patterns:
            # Only a "!" pattern can change an excluded path, and only a plain one an included.
            if pattern.exclusion != excluded:
                continue
            if pattern.matches_or_parent_matches(path):
                excluded = not pattern.exclusion
        return excluded
