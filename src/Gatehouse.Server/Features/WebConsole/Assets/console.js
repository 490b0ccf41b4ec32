// The console works without scripts; this one only adds the copy buttons next to one-time secrets.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  const text = source.textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
  }
  button.dataset.copied = "true";
  const status = document.getElementById(button.dataset.copy + "-status");
  if (status) status.textContent = "Copied to the clipboard.";
});
