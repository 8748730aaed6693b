// Invoice form (billing/form.html): the Service setting follows the products (a day case product
// makes it Daycase) and the admission and discharge dates show only for a stay, at once. Without
// this script every field shows, the server asks for what a setting needs on the first save, and
// "Update the total" re-prices the lines; with it the running total follows every change.
(() => {
  const RANK = { consulting_room: 0, outpatient: 0, daycase: 1, inpatient: 2 };
  const STAYS = new Set(["daycase", "inpatient"]);

  function setUp(form) {
    const setting = form.querySelector('select[name="service_setting"]');
    const stayFields = form.querySelector("[data-stay-fields]");
    const admission = form.querySelector('input[name="admission_date"]');
    let settings = {};
    try {
      settings = JSON.parse(form.dataset.productSettings || "{}");
    } catch (error) {
      settings = {};
    }
    let raisedFrom = null; // the setting chosen before a product raised it, while nobody has changed it since

    form.querySelectorAll("[data-no-js-only]").forEach((el) => { el.hidden = true; });

    const productSelects = () => Array.from(form.querySelectorAll('select[name^="lines-"][name$="-product"]'));
    const needed = () => productSelects()
      .map((select) => settings[select.value])
      .filter(Boolean)
      .reduce((best, s) => (best === null || RANK[s] > RANK[best] ? s : best), null);

    function showStayFields() {
      if (!setting || !stayFields) return;
      const stay = STAYS.has(setting.value);
      stayFields.hidden = !stay;
      if (admission) admission.required = stay;
    }

    function followProducts() {
      if (!setting) return;
      const want = needed();
      if (want && RANK[want] > (RANK[setting.value] ?? 0)) {
        if (raisedFrom === null) raisedFrom = setting.value;
        setting.value = want;
      } else if (!want && raisedFrom !== null) {
        setting.value = raisedFrom; // the product that called for a stay is gone
        raisedFrom = null;
      }
      showStayFields();
    }

    // The running total: the form is priced on the server (the save's own code) as lines change.
    // An update cut short (a newer one, or the page leaving on Save) just leaves the last total.
    const quote = form.querySelector("[data-quote-url]");
    let timer = null;
    let pending = null;
    let leaving = false;
    function refreshTotal() {
      if (!quote || leaving) return;
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(quote.dataset.quoteUrl, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        signal: pending.signal,
      })
        .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
        .then((html) => { if (!leaving) quote.innerHTML = html; })
        .catch(() => {});
    }
    const soon = () => { clearTimeout(timer); timer = setTimeout(refreshTotal, 250); };
    form.addEventListener("input", (event) => { if (event.target.closest(".lines-table")) soon(); });
    form.addEventListener("change", (event) => { if (!event.target.closest(".typeahead")) soon(); });
    form.addEventListener("submit", () => {
      leaving = true;
      clearTimeout(timer);
      if (pending) pending.abort();
    });

    form.addEventListener("change", (event) => {
      const el = event.target;
      if (el === setting) {
        raisedFrom = null; // the person chose: theirs stands
        showStayFields();
      } else if (el.matches('select[name$="-product"]')) {
        followProducts();
      }
    });
    followProducts();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-invoice-form]").forEach(setUp);
  });
})();
