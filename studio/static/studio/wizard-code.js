// The wizard's Code step. Loaded without ``defer`` where the form starts, so that the page is
// styled for JavaScript ("wizard-js") before it is drawn; the listeners are delegated to the document.
document.documentElement.classList.add("wizard-js");
(() => {
  // The chosen file's name and size (in studio.humanize.human_size's units), and its old error gone.
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  const humanSize = (bytes) => {
    let value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return unit ? `${value.toFixed(1)} ${units[unit]}` : `${value} bytes`;
  };
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!input.matches(".file-drop input[type=file]")) return;
    const file = input.files && input.files[0];
    const box = input.closest(".file-drop");
    box.classList.toggle("chosen", Boolean(file));
    box.querySelector(".file-drop-chosen").textContent = file ? `${file.name} · ${humanSize(file.size)}` : "";
    const errors = document.getElementById(`${input.id}_errors`);
    if (errors) errors.replaceChildren();
  });
  const dragging = (on) => (event) => {
    const box = event.target.closest && event.target.closest(".file-drop");
    if (box) box.classList.toggle("dragging", on);
  };
  ["dragenter", "dragover"].forEach((name) => document.addEventListener(name, dragging(true)));
  ["dragleave", "drop"].forEach((name) => document.addEventListener(name, dragging(false)));
})();
