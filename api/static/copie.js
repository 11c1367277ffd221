// Copy buttons: a button with data-copie="ID" copies the text of element ID.
"use strict";
document.querySelectorAll("button[data-copie]").forEach((button) => {
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copie);
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copiée";
    } catch (_) {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      button.textContent = "Sélectionnée : Ctrl+C";
    }
  });
});
