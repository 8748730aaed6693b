// Small progressive enhancements; every page works without them.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-autosubmit]")) el.form.requestSubmit();
});
document.addEventListener("click", (event) => {
  const el = event.target.closest("[data-copy]");
  if (!el) return;
  const target = document.getElementById(el.dataset.copy);
  if (target && navigator.clipboard) {
    navigator.clipboard.writeText(target.textContent.trim()).then(() => { el.textContent = "Copied"; }, () => {});
  }
});
// Relationship form: the insurance fields only for "Insurance provider" (all visible without JavaScript).
function syncInsuranceOnly() {
  const select = document.getElementById("id_relationship_type");
  const box = document.querySelector("[data-insurance-only]");
  if (select && box) box.hidden = select.value !== "" && select.value !== "insurance";
}
document.addEventListener("change", (event) => {
  if (event.target.id === "id_relationship_type") syncInsuranceOnly();
});
document.addEventListener("DOMContentLoaded", syncInsuranceOnly);
