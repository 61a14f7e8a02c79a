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

// A take's job card is swapped live over the project socket (or by its 10 s poll), but the
// rest of its row ("Use this take", "Used in the edit", the shot's summary) was rendered with
// the board. Each take row carries the status it was rendered with; when a card inside now
// shows another status, the server's shot list replaces the stale one. A refresh renders
// rows and cards from the same state, so it cannot loop.
(function () {
  let pending = null;

  function stale() {
    const shots = document.getElementById("shots");
    if (!shots || !shots.dataset.refreshUrl) return false;
    return Array.from(shots.querySelectorAll(".take[data-take-status]")).some((take) => {
      const card = take.querySelector("article.gen[data-status]");
      return card && card.dataset.status !== take.dataset.takeStatus;
    });
  }

  function check() {
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      const shots = document.getElementById("shots");
      if (!stale() || document.querySelector("li.shot.dragging")) return;
      htmx.ajax("GET", shots.dataset.refreshUrl, { target: "#shots", swap: "outerHTML" });
    }, 150);
  }

  ["htmx:oobAfterSwap", "htmx:wsAfterMessage", "htmx:afterSettle"].forEach((name) => {
    document.addEventListener(name, check);
  });
})();
