"""The stack test's closing report: image sizes and build seconds, seconds to healthy, each job's seconds on
the stack next to the embedded mode, and what each fault showed."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Summary:
    """Every figure the run measured, filled in as it goes."""

    images: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    """Image -> (size in MB, build seconds, "steps taken from the build cache/steps" or how it was made)."""
    healthy_s: dict[str, float] = field(default_factory=dict)
    """Which `up` -> seconds from the command to every service healthy."""
    stack_s: dict[str, float] = field(default_factory=dict)
    embedded_s: dict[str, float] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)
    slow_clients: list[str] = field(default_factory=list)
    """The slow-client step's figures (slow_clients.py), one line each."""
    passed: list[str] = field(default_factory=list)
    """The steps done and checked, in order."""

    def lines(self) -> list[str]:
        """The report, one printable line each."""
        out = [f"{'image (CPU build arguments)':<44} {'size MB':>7} {'build s':>8}  steps from cache"]
        for image, (size_mb, build_s, cached) in self.images.items():
            out.append(f"  {image:<42} {size_mb:>7.0f} {build_s:>8.0f}  {cached}")
        out += [
            f"seconds from `{which}` to every service healthy: {s:.0f}" for which, s in self.healthy_s.items()
        ]
        out.append(f"{'job (POST to finished)':<45} {'stack s':>8} {'embedded s':>11}")
        for job, stack_s in self.stack_s.items():
            embedded = self.embedded_s.get(job)
            embedded_text = "-" if embedded is None else f"{embedded:.1f}"
            out.append(f"  {job:<43} {stack_s:>8.1f} {embedded_text:>11}")
        out += ["slow clients through the proxy:", *(f"  {line}" for line in self.slow_clients)]
        out += ["faults, nothing lost:", *(f"  {fault}" for fault in self.faults)]
        return out
