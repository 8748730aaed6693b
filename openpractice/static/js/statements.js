// Accounts owing: "select all" ticks every patient; the button says how many are chosen.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.querySelector('[data-select-all="patients"]');
  const boxes = () => Array.from(document.querySelectorAll('#statements-form input[name="patients"]'));
  const button = document.getElementById("send-statements");
  const update = () => {
    if (!button) return;
    const n = boxes().filter((b) => b.checked).length;
    button.textContent = n ? `Send statements to ${n} selected` : "Send statements to selected";
  };
  if (all) all.addEventListener("change", () => { boxes().forEach((b) => { b.checked = all.checked; }); update(); });
  boxes().forEach((b) => b.addEventListener("change", update));
});
