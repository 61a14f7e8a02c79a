// Storyboard shots reorder by drag and drop (HTML5 DnD). The Up/Down buttons on every
// shot are the keyboard alternative and work without JavaScript. On drop, the new order
// is posted and the server's shot list replaces the old one, so the page never shows an
// order the server did not save.

(function () {
  let dragged = null;

  function list() {
    return document.getElementById("shots");
  }

  function shotAt(target) {
    return target && target.closest ? target.closest("li.shot") : null;
  }

  document.addEventListener("dragstart", (event) => {
    const shot = shotAt(event.target);
    if (!shot || !list() || !list().contains(shot)) return;
    dragged = shot;
    shot.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", shot.dataset.shotId);
  });

  document.addEventListener("dragover", (event) => {
    const over = shotAt(event.target);
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    const box = over.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });

  document.addEventListener("drop", (event) => {
    if (!dragged) return;
    event.preventDefault();
  });

  document.addEventListener("dragend", () => {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged = null;
    const shots = list();
    const order = Array.from(shots.querySelectorAll("li.shot")).map((li) => li.dataset.shotId);
    htmx.ajax("POST", shots.dataset.reorderUrl, {
      target: "#shots",
      swap: "outerHTML",
      values: { order: order },
    });
  });
})();
