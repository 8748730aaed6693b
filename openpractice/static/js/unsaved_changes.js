// Unsaved changes: no page drops what a person typed.
//
// A form marked data-unsaved="Section name" is a section that saves on its own. While one has
// changes not yet saved, submitting any OTHER form on the page, or following a link away, is
// refused with a dialog naming the section and its save button ("Back to my changes", or
// "Discard … and continue"); leaving any other way (back button, closing the tab, typing an
// address) gets the browser's own "Leave site?" prompt. Submitting the changed form itself is
// never refused.
//
// A form the server re-shows with errors (what was typed, not saved) carries
// data-unsaved-dirty: it counts as changed from the start. Every page works without this file;
// the server side never drops a filled section either.
(function () {
  "use strict";
  if (window.openPracticeUnsaved) return;
  window.openPracticeUnsaved = true;

  const MARKED = "form[data-unsaved]";
  const initial = new WeakMap();
  let released = false; // the person chose to discard, or a marked form is sending itself

  // What the person can change, as one string: typed text (also a type-ahead's visible text),
  // choices and ticks. Compared with the string at page load, so typing then undoing is clean.
  function snapshot(form) {
    const parts = [];
    for (const el of Array.from(form.elements)) {
      if (!el.name && !el.id) continue;
      if (el.type === "submit" || el.type === "button" || el.type === "reset" || el.name === "csrfmiddlewaretoken") continue;
      let value;
      if (el.type === "checkbox" || el.type === "radio") value = el.checked ? "1" : "0";
      else if (el.type === "file") value = Array.from(el.files || []).map((f) => f.name + ":" + f.size).join(",");
      else if (el.tagName === "SELECT" && el.multiple) value = Array.from(el.selectedOptions).map((o) => o.value).join(",");
      else value = el.value;
      parts.push((el.name || "#" + el.id) + "=" + value);
    }
    return parts.join("\u0000");
  }
  function remember(form) {
    if (!initial.has(form)) initial.set(form, snapshot(form));
  }
  function isDirty(form) {
    if (form.hasAttribute("data-unsaved-dirty")) return true;
    return initial.has(form) && initial.get(form) !== snapshot(form);
  }
  function dirtyForms(except) {
    return Array.from(document.querySelectorAll(MARKED)).filter((f) => f !== except && isDirty(f));
  }
  function sectionName(form) {
    return form.getAttribute("data-unsaved") || "this section";
  }
  function saveButtonText(form) {
    const button = form.querySelector("button[data-unsaved-save], button[type=submit], button:not([type])");
    return button ? button.textContent.trim() : "Save";
  }

  // The refusal: a modal <dialog>, so it is seen wherever on the page the person pressed.
  let dialog = null;
  function buildDialog() {
    dialog = document.createElement("dialog");
    dialog.className = "unsaved-dialog";
    dialog.setAttribute("aria-labelledby", "unsaved-title");
    dialog.setAttribute("aria-describedby", "unsaved-text");
    const article = document.createElement("article");
    const title = document.createElement("h2");
    title.id = "unsaved-title";
    const text = document.createElement("p");
    text.id = "unsaved-text";
    const footer = document.createElement("footer");
    const back = document.createElement("button");
    back.type = "button";
    back.dataset.unsavedBack = "";
    back.textContent = "Back to my changes";
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "secondary";
    discard.dataset.unsavedDiscard = "";
    footer.append(back, discard);
    article.append(title, text, footer);
    dialog.append(article);
    document.body.append(dialog);
    back.addEventListener("click", () => {
      const form = dialog.pendingForms[0];
      dialog.close();
      const field = form && form.querySelector("input:not([type=hidden]), select, textarea");
      if (form) form.scrollIntoView({ block: "center" });
      if (field) field.focus();
    });
    discard.addEventListener("click", () => {
      const go = dialog.continueWith;
      dialog.close();
      released = true;
      go();
    });
  }
  function refuse(forms, what, continueWith) {
    if (!dialog) buildDialog();
    const names = forms.map((f) => "“" + sectionName(f) + "”").join(" and ");
    const saves = forms.map((f) => "“" + saveButtonText(f) + "”").join(" or ");
    dialog.querySelector("#unsaved-title").textContent = "Changes in " + names + " are not saved";
    dialog.querySelector("#unsaved-text").textContent =
      "What you typed in " + names + " is not saved yet, so " + what + " was stopped. " +
      "Go back and press " + saves + " to keep it, or discard it and carry on.";
    dialog.querySelector("[data-unsaved-discard]").textContent = "Discard my changes and continue";
    dialog.pendingForms = forms;
    dialog.continueWith = continueWith;
    dialog.showModal();
    dialog.querySelector("[data-unsaved-back]").focus();
  }

  function describeSubmit(form, submitter) {
    const label = submitter && submitter.textContent.trim();
    return label ? "“" + label + "”" : "sending the other form";
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(MARKED).forEach(remember);
  });

  // Capture phase: runs before htmx or any handler on the form itself.
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      if (released) return;
      const others = dirtyForms(form);
      if (others.length) {
        event.preventDefault();
        event.stopImmediatePropagation();
        const submitter = event.submitter || null;
        refuse(others, describeSubmit(form, submitter), () => form.requestSubmit(submitter));
        return;
      }
      // Saving: no "Leave site?" as the page goes. An htmx form stays on the page: its new
      // state counts as saved once the server answers (below).
      if (form.matches(MARKED) && !form.matches("[hx-post],[hx-put],[hx-patch]")) released = true;
    },
    true,
  );

  document.addEventListener(
    "click",
    (event) => {
      if (released || event.defaultPrevented || event.button !== 0) return;
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab keeps this one
      const link = event.target.closest && event.target.closest("a[href]");
      if (!link || link.target === "_blank" || link.hasAttribute("download")) return;
      const url = new URL(link.href, location.href);
      const here = new URL(location.href);
      url.hash = "";
      here.hash = "";
      if (url.href === here.href && link.getAttribute("href").startsWith("#")) return; // a place on this page
      const dirty = dirtyForms(null);
      if (!dirty.length) return;
      event.preventDefault();
      const label = link.textContent.trim();
      refuse(dirty, label ? "opening “" + label + "”" : "leaving this page", () => {
        location.href = link.href;
      });
    },
    true,
  );

  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.target;
    if (form.matches && form.matches(MARKED) && event.detail.successful) {
      form.removeAttribute("data-unsaved-dirty");
      initial.set(form, snapshot(form));
    }
  });

  window.addEventListener("beforeunload", (event) => {
    if (released || !dirtyForms(null).length) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers need a value to show their prompt
  });
  // Back from the browser's cache: the page is live again, so is the guard.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) released = false;
  });
})();
