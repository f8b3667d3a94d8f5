"""The project folder (datasets/, runs/, settings.json), the app's settings and the allowed roots."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from data_tools import atomic
from data_tools.paths import is_within

HOME_ENV = "FER_AUDIT_HOME"
SETTINGS_FILE = "settings.json"
REPO_ROOT = Path(__file__).resolve().parents[2]


class PathRefused(ValueError):
    """A path outside the allowed data roots (or escaping them through '..' or a symlink)."""


UNRESOLVABLE = "cannot be resolved (a symlink loop, or a link that cannot be read)"


def resolved_or_none(p: Path) -> Path | None:
    """`p` with every symlink resolved, or None when that fails: a symlink loop (RuntimeError on
    Python < 3.13, OSError after), a link the process may not read (/proc/1/root: PermissionError),
    a name too long. Bounded: the resolution follows at most the kernel's / Python's link limit."""
    try:
        return p.resolve()
    except (RuntimeError, OSError, ValueError):
        return None


def home() -> Path:
    """The project folder: $FER_AUDIT_HOME, else the repository root."""
    env = os.environ.get(HOME_ENV, "").strip()
    return (resolved_or_none(Path(env).expanduser()) or Path(env).expanduser().absolute()) if env else REPO_ROOT


def datasets_dir() -> Path:
    return home() / "datasets"


def runs_dir() -> Path:
    return home() / "runs"


@dataclass
class Settings:
    """What settings.json holds."""
    reviewer: str = ""
    allowed_roots: list[str] = field(default_factory=list)


def load_settings() -> Settings:
    """Read settings.json (defaults when absent or unreadable)."""
    path = home() / SETTINGS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    roots = raw.get("allowed_roots") or []
    return Settings(reviewer=str(raw.get("reviewer") or ""),
                    allowed_roots=[str(r) for r in roots if str(r).strip()] if isinstance(roots, list) else [])


def save_settings(settings: Settings) -> Path:
    """Write settings.json atomically; returns its path."""
    path = home() / SETTINGS_FILE
    atomic.write_json(path, asdict(settings))
    return path


LINK_KEY_FILE = "link-key"          # the secret behind display_ids' link tokens (kept in the project folder)
_LINK_KEYS: dict[str, bytes] = {}


def link_key() -> bytes:
    """The project's secret for link tokens (display_ids.key_of): read from the project folder, made
    there on first use (32 random bytes, hex), so a link and a widget key stay the same across server
    restarts. A project folder that cannot hold it gets one for this process."""
    folder = str(home())
    if folder not in _LINK_KEYS:
        import secrets
        path = home() / LINK_KEY_FILE
        try:
            text = path.read_text(encoding="ascii").strip()
            key = bytes.fromhex(text) if len(text) >= 32 else b""
        except (OSError, ValueError, UnicodeDecodeError):
            key = b""
        if not key:
            key = secrets.token_bytes(32)
            try:
                atomic.write_text(path, key.hex() + "\n", encoding="ascii")
            except OSError:
                pass
        _LINK_KEYS[folder] = key
    return _LINK_KEYS[folder]


def dataset_dirs() -> list[Path]:
    """Dataset folders (those with a dataset.json) under datasets/, sorted by name."""
    root = datasets_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "dataset.json").is_file())


def _image_roots() -> list[Path]:
    """Every imported dataset's image root, through the manifest module (its dataset.json checked, the
    root resolved as every reader resolves it); a folder whose dataset.json is refused adds none."""
    from data_tools.manifest import ManifestError, read_info, resolve_image_root
    roots = []
    for d in dataset_dirs():
        try:
            roots.append(resolve_image_root(d, read_info(d).image_root))
        except ManifestError:
            continue
    return roots


def _is_fs_root(resolved: Path) -> bool:
    return resolved == resolved.parent


def check_allowed_root(text: str) -> Path:
    """A folder typed in Settings as an allowed root, resolved; PathRefused when it is relative, not an
    existing folder, or the file-system root in any spelling ('/', '//', '/..', a link to '/')."""
    r = str(text).strip()
    p = Path(r).expanduser()
    if not p.is_absolute():
        raise PathRefused(f"'{r}' is not an absolute path")
    resolved = resolved_or_none(p)
    if resolved is None:
        raise PathRefused(f"'{r}' {UNRESOLVABLE}")
    if _is_fs_root(resolved):
        raise PathRefused(f"'{r}' is the file-system root; name a narrower folder")
    if not resolved.is_dir():
        raise PathRefused(f"'{r}' is not an existing folder")
    return resolved


def allowed_roots(settings: Settings | None = None) -> list[Path]:
    """datasets/, runs/, every imported dataset's image_root and the roots added in settings (resolved).
    The file-system root is never one, however it got into settings.json or a dataset.json."""
    settings = settings or load_settings()
    roots = [datasets_dir(), runs_dir(), *_image_roots(),
             *(Path(r).expanduser() for r in settings.allowed_roots)]
    out: list[Path] = []
    for r in roots:
        rr = resolved_or_none(r)
        if rr is not None and rr not in out and not _is_fs_root(rr):
            out.append(rr)
    return out


def unusable_roots(settings: Settings | None = None) -> list[str]:
    """The roots of settings.json and of the datasets' image_root that `allowed_roots` leaves out
    because they cannot be resolved (a symlink loop, an unreadable link), each once, as a sentence."""
    settings = settings or load_settings()
    out: list[str] = []
    for r in [*_image_roots(), *(Path(r).expanduser() for r in settings.allowed_roots)]:
        line = f"'{r}' {UNRESOLVABLE}"
        if resolved_or_none(r) is None and line not in out:
            out.append(line)
    return out


def check_path(path: str | os.PathLike, roots: list[Path] | None = None, *, must_exist: bool = True) -> Path:
    """The resolved path if it lies under an allowed root, else PathRefused with a message to act on."""
    text = str(path).strip()
    if not text:
        raise PathRefused("no path given")
    p = Path(text).expanduser()
    if not p.is_absolute():
        p = home() / p
    roots = allowed_roots() if roots is None else roots
    if ".." in p.parts:
        raise PathRefused(f"refused: '{text}' contains '..'; give the folder itself")
    if not is_within(p, roots):
        shown = ", ".join(str(r) for r in roots) or "(none)"
        raise PathRefused(f"refused: '{text}' is outside the allowed data roots ({shown}). "
                          "Add its folder in Settings → Allowed data roots first.")
    resolved = resolved_or_none(p)
    if resolved is None:
        raise PathRefused(f"refused: '{text}' {UNRESOLVABLE}")
    if must_exist and not resolved.exists():
        raise PathRefused(f"'{text}' does not exist")
    return resolved
