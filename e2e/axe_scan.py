"""The accessibility scan of the browser tests: axe-core (bundled in axe-playwright-python, a test
extra) run on every page a test opens; e2e/conftest.py's `page` fixture installs it per test.

The scan runs just before the test acts on a page (goto, click, fill, select, reload, ...) and once
more at teardown, so each page is scanned while it is on screen without the tests saying so. It is
keyed per test by the URL path, whether the page shows form errors, and which htmx targets have
been swapped in since: each distinct state is scanned once. Serious and critical violations fail
the test at teardown. axe is injected with page.evaluate (the DevTools protocol), which the page's
Content-Security-Policy does not govern: a <script> tag (add_script_tag) would be refused."""

from __future__ import annotations

import functools
import weakref
from pathlib import Path

import axe_playwright_python
from playwright._impl.frame import Frame as _ImplFrame
from playwright._impl.page import Page as _ImplPage
from playwright.sync_api import Error as PlaywrightError

AXE_IMPACTS_THAT_FAIL = ("serious", "critical")
AXE_SCRIPT = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
_AXE_STATE_KEY = """() => {
  if (!window.__a11yWatching) {
    window.__a11yWatching = true;
    window.__a11ySwapped = [];
    document.addEventListener("htmx:afterSettle", (event) => {
      const target = event.detail && event.detail.target ? event.detail.target : event.target;
      window.__a11ySwapped.push(target && target.id ? "#" + target.id : (target ? target.tagName : "?"));
    });
  }
  const invalid = document.querySelector('[aria-invalid="true"], .form-errors, .field.has-error') !== null;
  const swapped = [...new Set(window.__a11ySwapped)].sort().join(",");
  return location.pathname + (invalid ? " [form errors]" : "") + (swapped ? " [swapped " + swapped + "]" : "");
}"""
_AXE_RUN = """async (impacts) => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")),
    summary: v.nodes.length ? v.nodes[0].failureSummary : "",
  }));
}"""


class AxeScanner:
    """One test's scans: the states already scanned and the violations found."""

    def __init__(self, exemptions: list[tuple[str, str]]):
        self.exemptions = exemptions  # (rule id, path prefix): see _axe_exemptions
        self.scanned: set[str] = set()
        self.violations: dict[tuple[str, str], dict] = {}
        self.errors: list[str] = []
        self.busy = False

    async def scan(self, frame) -> None:
        """Scan the frame's page (impl-level Frame) unless this state was scanned already."""
        if self.busy:  # the scan's own evaluate calls are not actions, but be safe against re-entry
            return
        self.busy = True
        try:
            if not frame.url.startswith("http"):  # about:blank before the first goto
                return
            await frame.wait_for_load_state("load", 15_000)
            key = await frame.evaluate(_AXE_STATE_KEY, None)
            if key in self.scanned:
                return
            if not await frame.evaluate("() => typeof window.axe === 'object'", None):
                await frame.evaluate(AXE_SCRIPT, None)
            found = await frame.evaluate(_AXE_RUN, list(AXE_IMPACTS_THAT_FAIL))
            self.scanned.add(key)
            for violation in found:
                if any(violation["id"] == rule and key.startswith(prefix) for rule, prefix in self.exemptions):
                    continue
                self.violations.setdefault((key, violation["id"]), {**violation, "page": key})
        except PlaywrightError as exc:
            # The page navigated away mid-scan (the test's last action started a navigation):
            # the next action or the teardown scans whatever page is on screen then.
            self.errors.append(str(exc).splitlines()[0])
        finally:
            self.busy = False

    def report(self) -> str:
        lines = []
        for v in self.violations.values():
            lines.append(f"{v['page']}: {v['id']} ({v['impact']}): {v['help']}")
            lines.append("    " + " ".join(v["summary"].split()))
            lines.extend(f"    {target}" for target in v["targets"][:8])
            if len(v["targets"]) > 8:
                lines.append(f"    ... and {len(v['targets']) - 8} more")
        return "\n".join(lines)


_SCANNERS: weakref.WeakKeyDictionary[object, AxeScanner] = weakref.WeakKeyDictionary()

# Actions after which the page on screen may be a different page or state: scan before each.
_FRAME_ACTIONS = (
    "goto",
    "click",
    "dblclick",
    "fill",
    "press",
    "type",
    "check",
    "uncheck",
    "set_checked",
    "select_option",
    "set_input_files",
    "tap",
    "dispatch_event",
    "drag_and_drop",
)
_PAGE_ACTIONS = ("reload", "go_back", "go_forward", "close")


def _scan_first(method, frame_of):
    @functools.wraps(method)
    async def wrapper(self, *args, **kwargs):
        frame = frame_of(self)
        scanner = _SCANNERS.get(frame.page) if frame is not None else None
        if scanner is not None:
            await scanner.scan(frame.page.main_frame)
        return await method(self, *args, **kwargs)

    return wrapper


def install() -> None:
    """Playwright's sync Page and Locator both end in these implementation-level methods, so one
    patch covers page.click(...) and page.get_by_role(...).click() alike. Once per process."""
    if getattr(_ImplFrame, "_axe_scan_installed", False):
        return
    for name in _FRAME_ACTIONS:
        setattr(_ImplFrame, name, _scan_first(getattr(_ImplFrame, name), lambda frame: frame))
    for name in _PAGE_ACTIONS:
        setattr(_ImplPage, name, _scan_first(getattr(_ImplPage, name), lambda page: page.main_frame))
    _ImplFrame._axe_scan_installed = True


def watch(page, scanner: AxeScanner) -> None:
    """Scan `page` (a sync Page) and the pages it opens with `scanner` from now on."""
    install()
    _SCANNERS[page._impl_obj] = scanner
    page.context.on("page", lambda popup: _SCANNERS.__setitem__(popup._impl_obj, scanner))


def scan_now(page, scanner: AxeScanner) -> None:
    """Scan the page on screen (a sync Page), unless this state was scanned already."""
    if not page.is_closed() and page.url.startswith("http"):
        page._sync(scanner.scan(page._impl_obj.main_frame))
