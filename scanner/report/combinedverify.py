"""Check a multi-organization run's package against organizations-manifest.json: the combined
files' SHA-256, each organization's bundle zip and manifest.json SHA-256, and each bundle as
``orgscan verify BUNDLE`` checks one. ``orgscan verify DIR`` passes ``run.reevaluate``'s
``verify_bundle`` (its files against its manifest, then its findings re-evaluated over its
evidence); without one, a bundle's files are checked against its manifest only
(``bundleverify.verify``). Every problem of a bundle is reported under its organization's
label."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from scanner.core.errors import ConfigError
from scanner.report.bundle import MANIFEST, sha256_file
from scanner.report.bundleverify import Verification, verify
from scanner.report.combined import COMBINED_MANIFEST


@dataclass(frozen=True)
class OrgBundle:
    """One organization's bundle and what checking it found."""

    label: str
    verification: Verification

    @property
    def ok(self) -> bool:
        return self.verification.ok


@dataclass(frozen=True)
class CombinedVerification:
    directory: str
    checked: int  # combined files and bundles checked against the combined manifest
    problems: tuple[str, ...]
    bundles: tuple[OrgBundle, ...]

    @property
    def ok(self) -> bool:
        return not self.problems and all(b.ok for b in self.bundles)

    @property
    def failed_organizations(self) -> list[str]:
        return [b.label for b in self.bundles if not b.ok]

    def to_json(self) -> dict[str, Any]:
        return {"directory": self.directory, "ok": self.ok, "checked": self.checked,
                "problems": list(self.problems),
                "failed_organizations": self.failed_organizations,
                "bundles": [{"organization": b.label, **b.verification.to_json()}
                            for b in self.bundles]}

    def text(self) -> str:
        lines = [f"organizations manifest: {Path(self.directory) / COMBINED_MANIFEST}"]
        lines += [f"PROBLEM  {p}" for p in self.problems]
        for b in self.bundles:
            lines += ["", f"organization {b.label}: {'OK' if b.ok else 'FAILED'}",
                      b.verification.text()]
        failed = self.failed_organizations
        lines += ["", f"OK: {self.checked} combined file(s) and bundle(s) match, every bundle "
                      "verifies" if self.ok else
                  f"FAILED: {len(self.problems)} problem(s) with the combined files; "
                  f"{len(failed)} organization(s) whose bundle does not verify"
                  + (f": {', '.join(failed)}" if failed else "")]
        return "\n".join(lines)


def is_combined(path: Path) -> bool:
    return path.is_dir() and (path / COMBINED_MANIFEST).is_file()


def _inside(root: Path, name: str) -> Path | None:
    """``root/name`` for a relative path that stays inside ``root``; None otherwise."""
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    return root.joinpath(*rel.parts)


def verify_combined(directory: Path, verify_bundle: Callable[[Path], Verification] = verify
                    ) -> CombinedVerification:
    try:
        manifest = json.loads((directory / COMBINED_MANIFEST).read_text("utf-8"))
        files, orgs = manifest["files"], manifest["organizations"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(str(directory / COMBINED_MANIFEST),
                          f"not an organizations manifest: {exc}") from exc
    problems: list[str] = []
    checked = 0

    def check(name: str, want: str) -> Path | None:
        nonlocal checked
        path = _inside(directory, name)
        if path is None:
            problems.append(f"unsafe path in {COMBINED_MANIFEST}: {name!r}")
        elif not path.is_file():
            problems.append(f"MISSING  {name}")
        elif sha256_file(path) != want:
            problems.append(f"TAMPERED {name}")
        else:
            checked += 1
            return path
        return None

    for f in files:
        check(str(f["path"]), str(f["sha256"]))
    bundles: list[OrgBundle] = []

    def check_bundle(label: str, path: Path) -> None:
        try:
            bundles.append(OrgBundle(label, verify_bundle(path)))
        except ConfigError as exc:  # not a readable bundle: this organization's problem
            problems.append(f"organization {label}: {exc}")

    for org in orgs:
        bundle = org.get("bundle")
        if not bundle:
            continue
        label = str(org.get("label"))
        if bundle.get("zip"):
            zipped = check(str(bundle["zip"]), str(bundle["zip_sha256"]))
            if zipped is not None:
                check_bundle(label, zipped)
        listed = check(f"{bundle['directory']}/{MANIFEST}", str(bundle["manifest_sha256"]))
        if listed is not None and not bundle.get("zip"):
            check_bundle(label, listed.parent)
    return CombinedVerification(str(directory), checked, tuple(problems), tuple(bundles))
