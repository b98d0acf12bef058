// The review page's only script: open and close the action dialogs, and say "validating…"
// while an edit is checked in the sandbox (the form posts as usual).
document.querySelectorAll("button[data-dialog]").forEach((button) => {
  button.addEventListener("click", () => document.getElementById(button.dataset.dialog).showModal());
});
document.querySelectorAll("dialog button.close").forEach((button) => {
  button.addEventListener("click", () => button.closest("dialog").close());
});
document.querySelectorAll("dialog form").forEach((form) => {
  form.addEventListener("submit", () => {
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    submit.textContent = form.action.endsWith("/edit") ? "Validating…" : "Saving…";
  });
});
