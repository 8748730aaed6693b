// The accessible type-ahead (ARIA 1.2 combobox, list autocomplete with manual selection).
// htmx fetches the options (hx-get on the input); this file owns the ARIA state and the keyboard:
// Down/Up move through the options, Enter chooses, Escape closes (a second Escape clears).
// Loaded by every widget instance, so it guards against running twice.
(function () {
  "use strict";
  if (window.openPracticeTypeahead) return;
  window.openPracticeTypeahead = true;

  const COMBOBOX = "[data-typeahead] input[role=combobox]";

  function partsOf(input) {
    const root = input.closest("[data-typeahead]");
    return {
      root: root,
      input: input,
      list: document.getElementById(input.getAttribute("aria-controls")),
      hidden: root.querySelector("[data-typeahead-value]"),
      status: root.querySelector("[data-typeahead-status]"),
    };
  }
  function choices(p) {
    return Array.from(p.list.querySelectorAll("[role=option]:not([aria-disabled=true])"));
  }
  function isOpen(p) { return p.input.getAttribute("aria-expanded") === "true"; }
  function open(p) {
    if (!p.list.children.length) return;
    p.list.hidden = false;
    p.input.setAttribute("aria-expanded", "true");
  }
  function close(p) {
    p.list.hidden = true;
    p.input.setAttribute("aria-expanded", "false");
    setActive(p, -1);
  }
  function activeIndex(p) {
    return choices(p).findIndex((o) => o.getAttribute("aria-selected") === "true");
  }
  function setActive(p, index) {
    const options = choices(p);
    options.forEach((o, i) => o.setAttribute("aria-selected", i === index ? "true" : "false"));
    if (index >= 0 && options[index]) {
      p.input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else {
      p.input.removeAttribute("aria-activedescendant");
    }
  }
  function choose(p, option) {
    p.hidden.value = option.dataset.value;
    p.input.value = option.dataset.label;
    close(p);
    p.status.textContent = option.dataset.label + " chosen";
    p.hidden.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // htmx sends the typed text as `q`, whatever the input's own name is.
  document.addEventListener("htmx:configRequest", (event) => {
    const input = event.detail.elt;
    if (!input.matches || !input.matches(COMBOBOX)) return;
    delete event.detail.parameters[input.name];
    event.detail.parameters.q = input.value.trim();
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const list = event.detail.target;
    if (!list.matches || !list.matches(".typeahead-list")) return;
    const input = document.querySelector('[aria-controls="' + list.id + '"]');
    if (!input) return;
    const p = partsOf(input);
    Array.from(list.children).forEach((li, i) => { li.id = list.id + "-" + i; });
    const count = choices(p).length;
    if (!list.children.length) { close(p); p.status.textContent = ""; return; }
    p.status.textContent = count ? count + (count === 1 ? " result" : " results") : "No match";
    setActive(p, -1);
    if (document.activeElement === input) open(p);
  });

  document.addEventListener("input", (event) => {
    if (!event.target.matches(COMBOBOX)) return;
    const p = partsOf(event.target);
    p.hidden.value = ""; // typing again undoes the choice until an option is chosen
    if (!event.target.value.trim()) { p.list.innerHTML = ""; close(p); p.status.textContent = ""; }
  });

  document.addEventListener("keydown", (event) => {
    if (!event.target.matches || !event.target.matches(COMBOBOX)) return;
    const p = partsOf(event.target);
    const options = choices(p);
    const current = activeIndex(p);
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (!isOpen(p)) { open(p); if (event.altKey) return; }
        if (options.length) setActive(p, current < options.length - 1 ? current + 1 : 0);
        break;
      case "ArrowUp":
        event.preventDefault();
        if (!isOpen(p)) open(p);
        if (options.length) setActive(p, current > 0 ? current - 1 : options.length - 1);
        break;
      case "Enter":
        if (isOpen(p) && current >= 0) { event.preventDefault(); choose(p, options[current]); }
        break;
      case "Escape":
        if (isOpen(p)) { event.preventDefault(); close(p); }
        else if (p.input.value) { event.preventDefault(); p.input.value = ""; p.hidden.value = ""; p.list.innerHTML = ""; }
        break;
      case "Tab":
        close(p);
        break;
    }
  });

  // Pointer: mousedown keeps focus in the input; click chooses.
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest(".typeahead-list [role=option]")) event.preventDefault();
  });
  document.addEventListener("click", (event) => {
    const option = event.target.closest(".typeahead-list [role=option]");
    if (!option || option.getAttribute("aria-disabled") === "true") return;
    const input = document.querySelector('[aria-controls="' + option.parentElement.id + '"]');
    if (input) { choose(partsOf(input), option); input.focus(); }
  });
  document.addEventListener("focusout", (event) => {
    if (!event.target.matches || !event.target.matches(COMBOBOX)) return;
    const p = partsOf(event.target);
    setTimeout(() => { if (document.activeElement !== p.input) close(p); }, 100);
  });
})();
