// Invoices list: "select all" ticks every invoice box; the bulk button says how many are chosen.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.querySelector("[data-select-all]");
  const boxes = () => Array.from(document.querySelectorAll('input[name="invoice"]'));
  const button = document.getElementById("bulk-submit");
  const update = () => {
    if (!button) return;
    const n = boxes().filter((b) => b.checked).length;
    button.textContent = n ? `Submit ${n} selected to Healthcode` : "Submit selected to Healthcode";
  };
  if (all) all.addEventListener("change", () => { boxes().forEach((b) => { b.checked = all.checked; }); update(); });
  boxes().forEach((b) => b.addEventListener("change", update));
});
