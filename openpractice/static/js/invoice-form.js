// Invoice form (billing/form.html): the Service setting follows the products (a day case product
// makes it Daycase) and the admission and discharge dates show only for a stay, at once. Without
// this script every field shows, and the server asks for what a setting needs on the first save.
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
